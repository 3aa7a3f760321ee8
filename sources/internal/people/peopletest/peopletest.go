// Package peopletest holds the privacy checks shared by the auth adapters' tests: build a source
// through the real engine into an output folder with every log record captured at debug level, then
// look for personal values and secrets in every file written, in the report and in the logs.
package peopletest

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
)

// LogBuffer collects log output; it is safe for concurrent use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written.
func (b *LogBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// Logger returns a debug-level JSON logger writing to b: give it to mesh.Options.Logger and to the
// source's fetch.Options.Logger, so that every record of the build is captured.
func (b *LogBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Result is one build's observable output.
type Result struct {
	// Build is what mesh.Build returned (nil Graph when it failed).
	Build *mesh.Build
	// Err is the build's error.
	Err error
	// Dir is the output folder (empty of files when the build failed).
	Dir string
	// Logs are the captured log records.
	Logs []byte
}

// Run builds src under the instance name through mesh.New with Options.Out set to a fresh folder and
// log as the engine's logger. The caller has given log (the same one) to the source's fetch options.
func Run(t testing.TB, name string, src mesh.Source, log *LogBuffer) Result {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	m, err := mesh.New(mesh.Options{Out: dir, Logger: log.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add(name, src); err != nil {
		t.Fatal(err)
	}
	b, err := m.Build(context.Background())
	return Result{Build: b, Err: err, Dir: dir, Logs: log.Bytes()}
}

// Texts returns every text a build exposes, by where it was found: each file of the output folder,
// the report (JSON), the error's text, and the logs.
func (r Result) Texts(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{"logs": r.Logs}
	if r.Build != nil {
		rep, err := json.Marshal(r.Build.Report)
		if err != nil {
			t.Fatal(err)
		}
		out["report"] = rep
	}
	if r.Err != nil {
		out["error"] = []byte(r.Err.Error())
	}
	if _, err := os.Stat(r.Dir); err == nil {
		err := filepath.WalkDir(r.Dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(r.Dir, p)
			out["out/"+filepath.ToSlash(rel)] = b
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Files lists the output files the build wrote (relative slash paths), sorted.
func (r Result) Files(t testing.TB) []string {
	var files []string
	for k := range r.Texts(t) {
		if name, ok := strings.CutPrefix(k, "out/"); ok {
			files = append(files, name)
		}
	}
	slices.Sort(files)
	return files
}

// Leaks returns, for each value found in any of texts, "where: value", sorted. Values are looked
// for as written and as JSON would escape them.
func Leaks(texts map[string][]byte, values []string) []string {
	var found []string
	for where, b := range texts {
		for _, v := range values {
			if v == "" {
				continue
			}
			esc, _ := json.Marshal(v)
			if bytes.Contains(b, []byte(v)) || bytes.Contains(b, esc[1:len(esc)-1]) {
				found = append(found, where+": "+v)
			}
		}
	}
	slices.Sort(found)
	return found
}

// AssertNoLeak fails the test when any value appears in what the build exposed.
func (r Result) AssertNoLeak(t testing.TB, what string, values []string) {
	t.Helper()
	if len(values) == 0 {
		t.Fatalf("no %s values to look for: the check could not fail", what)
	}
	if leaks := Leaks(r.Texts(t), values); len(leaks) > 0 {
		t.Errorf("%s leaked:\n  %s", what, strings.Join(leaks, "\n  "))
	}
}
