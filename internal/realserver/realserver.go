// Package realserver helps integration tests that run against real servers started on 127.0.0.1 by
// scripts/realservers/<name>-up.sh: those tests skip, saying how to start the server, when it is not
// there, except under CI (CI=true), where the server must be there and they fail.
package realserver

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Missing skips the test (or fails it under CI) with a message saying how to start the server.
func Missing(t testing.TB, name string, why error) {
	t.Helper()
	msg := fmt.Sprintf("no real %s (%v): start it with scripts/realservers/%s-up.sh", name, why, name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RequireUp checks that the server at rawURL accepts connections: an env file left by an earlier run
// does not mean the server is still up.
func RequireUp(t testing.TB, name, rawURL string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		t.Fatalf("%s: bad URL %q in its env file", name, rawURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"https": "443"}[u.Scheme]+map[bool]string{true: "80"}[u.Scheme != "https"])
	}
	c, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		Missing(t, name, err)
		return
	}
	c.Close()
}

// Env reads $REALSERVERS_DIR/<name>/env (default /tmp/contentmesh-realservers), written by
// scripts/realservers/<name>-up.sh, and checks that the server at the URL under urlKey is up. When
// the file is missing or the server is down, the test is skipped (or fails under CI).
func Env(t testing.TB, name, urlKey string) map[string]string {
	t.Helper()
	dir := os.Getenv("REALSERVERS_DIR")
	if dir == "" {
		dir = "/tmp/contentmesh-realservers"
	}
	data, err := os.ReadFile(filepath.Join(dir, name, "env"))
	if err != nil {
		Missing(t, name, err)
		return nil
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			env[k] = v
		}
	}
	if env[urlKey] == "" {
		t.Fatalf("%s env file has no %s", name, urlKey)
	}
	RequireUp(t, name, env[urlKey])
	return env
}
