package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// event decodes an API Gateway proxy event as Lambda delivers it (JSON), so the struct tags are
// checked too.
func event(t *testing.T, js string) APIGatewayProxyRequest {
	t.Helper()
	var ev APIGatewayProxyRequest
	if err := json.Unmarshal([]byte(js), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestEventRequest(t *testing.T) {
	ev := event(t, `{
		"resource": "/hooks/{source}", "path": "/hooks/cms", "httpMethod": "POST",
		"headers": {"Content-Type": "application/json", "Host": "abc.execute-api.eu-west-1.amazonaws.com"},
		"multiValueHeaders": {"Content-Type": ["application/json"], "Host": ["abc.execute-api.eu-west-1.amazonaws.com"], "X-Many": ["a", "b"]},
		"queryStringParameters": {"env": "master"}, "multiValueQueryStringParameters": {"env": ["master"], "tag": ["x", "y"]},
		"requestContext": {"path": "/prod/hooks/cms", "stage": "prod", "requestId": "r-1", "domainName": "abc.execute-api.eu-west-1.amazonaws.com", "identity": {"sourceIp": "203.0.113.9"}},
		"body": "eyJhIjoxfQ==", "isBase64Encoded": true}`)
	r, err := eventRequest(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/hooks/cms" || string(body) != `{"a":1}` || r.ContentLength != 7 {
		t.Errorf("request %s %s %q %d", r.Method, r.URL, body, r.ContentLength)
	}
	if got := r.URL.Query(); got.Get("env") != "master" || !slices.Equal(got["tag"], []string{"x", "y"}) {
		t.Errorf("query %v", got)
	}
	if !slices.Equal(r.Header.Values("X-Many"), []string{"a", "b"}) || r.Host != "abc.execute-api.eu-west-1.amazonaws.com" || r.Header.Get("Host") != "" {
		t.Errorf("headers %v host %q", r.Header, r.Host)
	}
	// The target as the client sent it (stage included): what Contentful signs.
	if r.RequestURI != "/prod/hooks/cms?env=master&tag=x&tag=y" || r.RemoteAddr != "203.0.113.9" {
		t.Errorf("request URI %q, remote %q", r.RequestURI, r.RemoteAddr)
	}

	for _, bad := range []string{`{"path": "/x"}`, `{"httpMethod": "POST"}`, `{"httpMethod": "POST", "path": "/x", "body": "%%%", "isBase64Encoded": true}`} {
		resp, err := NewLambdaFunction(http.NotFoundHandler())(context.Background(), event(t, bad))
		if err != nil || resp.StatusCode != http.StatusBadRequest || !json.Valid([]byte(resp.Body)) {
			t.Errorf("%s: %+v %v", bad, resp, err)
		}
	}
}

func TestLambdaResponse(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		if r.URL.Path == "/binary" {
			w.Write([]byte{0xff, 0x00})
			return
		}
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "short and stout")
	})
	fn := NewLambdaFunction(h)
	resp, _ := fn(context.Background(), event(t, `{"httpMethod": "GET", "path": "/"}`))
	if resp.StatusCode != http.StatusTeapot || resp.Body != "short and stout" || resp.IsBase64Encoded ||
		!slices.Equal(resp.MultiValueHeaders["Set-Cookie"], []string{"a=1", "b=2"}) || resp.Headers["Set-Cookie"] != "a=1" {
		t.Errorf("%+v", resp)
	}
	resp, _ = fn(context.Background(), event(t, `{"httpMethod": "GET", "path": "/binary"}`))
	if resp.StatusCode != http.StatusOK || !resp.IsBase64Encoded || resp.Body != base64.StdEncoding.EncodeToString([]byte{0xff, 0x00}) {
		t.Errorf("binary: %+v", resp)
	}
	js, _ := json.Marshal(resp)
	for _, key := range []string{`"statusCode":200`, `"isBase64Encoded":true`, `"multiValueHeaders"`} {
		if !strings.Contains(string(js), key) {
			t.Errorf("response JSON %s lacks %s", js, key)
		}
	}
}

// The Lambda function serves a source's webhook: verified, built incrementally from the snapshot,
// answered with the change set.
func TestLambdaWebhook(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the servers close
	shop := newShop()
	srv := httptest.NewServer(shop)
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mesh.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("cache: cache\nsources:\n  - {name: shop, type: rest, url: %q, items: items, id: id, nodeType: Product}\n", srv.URL+"/products")), 0o644)
	env := map[string]string{}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := newLambda(cfg, "", lookup, logger); err == nil {
		t.Error("a function without webhook secrets was made")
	}
	env["WEBHOOK_SECRET_SHOP"] = "s3cret"
	fn, err := newLambda(cfg, "", lookup, logger)
	if err != nil {
		t.Fatal(err)
	}
	call := func(js string) (int, Response) {
		t.Helper()
		resp, err := fn(context.Background(), event(t, js))
		if err != nil {
			t.Fatal(err)
		}
		var r Response
		if err := json.Unmarshal([]byte(resp.Body), &r); err != nil {
			t.Fatalf("body %q: %v", resp.Body, err)
		}
		return resp.StatusCode, r
	}
	delivery := func(secret, body string) string {
		b64 := base64.StdEncoding.EncodeToString([]byte(body))
		return fmt.Sprintf(`{"httpMethod": "POST", "path": "/hooks/shop", "headers": {"X-Webhook-Secret": %q, "Content-Type": "application/json"},
			"requestContext": {"path": "/prod/hooks/shop", "stage": "prod"}, "body": %q, "isBase64Encoded": true}`, secret, b64)
	}

	code, resp := call(delivery("s3cret", `{"event":"product.create","id":"p1"}`))
	if code != http.StatusOK || resp.Changes == nil || len(resp.Changes.Added) != 3 {
		t.Fatalf("first delivery: %d %+v", code, resp)
	}
	if _, err := os.Stat(filepath.Join(dir, "cache", "manifest.json")); err != nil {
		t.Errorf("no snapshot saved in the config's cache: %v", err)
	}
	shop.set(func(s *shopAPI) { s.products["p2"] = "Burr Grinder" })
	code, resp = call(delivery("s3cret", `{"event":"product.update","id":"p2"}`))
	if code != http.StatusOK || resp.Changes == nil || !slices.Equal(resp.Changes.Updated, []string{"shop/product/p2"}) {
		t.Errorf("second delivery: %d %+v", code, resp)
	}
	if code, _ := call(delivery("wrong", `{"event":"product.update","id":"p3"}`)); code != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d", code)
	}
	if code, _ := call(`{"httpMethod": "POST", "path": "/hooks/nope", "body": "{}"}`); code != http.StatusNotFound {
		t.Errorf("unknown route: %d", code)
	}
	var dup struct {
		Duplicate bool `json:"duplicate"`
	}
	r, _ := fn(context.Background(), event(t, delivery("s3cret", `{"event":"product.update","id":"p2"}`)))
	if json.Unmarshal([]byte(r.Body), &dup); r.StatusCode != http.StatusOK || !dup.Duplicate {
		t.Errorf("replayed delivery: %+v", r)
	}
}

// The server serves the webhooks beside the prebuild, and the two never build at once.
func TestRunWebhooks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the servers close
	shop := newShop()
	srv := httptest.NewServer(shop)
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mesh.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("cache: cache\nsources:\n  - {name: shop, type: rest, url: %q, items: items, id: id, nodeType: Product}\n", srv.URL+"/products")), 0o644)
	env := map[string]string{"PREBUILD_TOKEN": "tok", "WEBHOOK_SECRET_SHOP": "hook"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"-config", cfg, "-addr", "127.0.0.1:0"}, &syncWriter{w: &stderr}, lookup, func(a string) { addrc <- a })
	}()
	addr := <-addrc
	post := func(path, name, value, body string) (int, Response) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set(name, value)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, Response{}
		}
		defer res.Body.Close()
		var resp Response
		json.NewDecoder(res.Body).Decode(&resp)
		return res.StatusCode, resp
	}
	results := make(chan int, 6)
	for i := range 6 {
		go func() {
			if i%2 == 0 {
				code, _ := post("/", "Authorization", "Bearer tok", "")
				results <- code
				return
			}
			code, _ := post("/hooks/shop", "X-Webhook-Secret", "hook", fmt.Sprintf(`{"n":%d}`, i))
			results <- code
		}()
	}
	for range 6 {
		if code := <-results; code != http.StatusOK {
			t.Errorf("status %d", code)
		}
	}
	shop.mu.Lock()
	overlap := shop.maxInflight
	shop.mu.Unlock()
	if overlap != 1 {
		t.Errorf("%d builds fetched at once: the prebuild and the webhooks must take turns", overlap)
	}
	if code, _ := post("/hooks/shop", "X-Webhook-Secret", "nope", `{}`); code != http.StatusUnauthorized {
		t.Errorf("wrong webhook secret: %d", code)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "webhook route") {
		t.Errorf("the log does not list the webhook routes:\n%s", stderr.String())
	}
}

// serialMesh makes a build wait for the one in progress instead of fetching beside it.
func TestSerialMesh(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the servers close
	_, shop, _, m := setupMesh(t, HandlerOptions{})
	gate := make(chan struct{})
	shop.set(func(s *shopAPI) { s.block = gate })
	sm := newSerialMesh(m)
	first := make(chan error, 1)
	go func() {
		_, err := sm.Build(context.Background())
		first <- err
	}()
	<-shop.arrived // the first build is fetching, held at the gate
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := sm.BuildSources(ctx, []string{"shop"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second build: %v", err)
	}
	if n := len(shop.arrived); n != 0 {
		t.Errorf("the second build fetched (%d requests) while the first ran", n)
	}
	shop.set(func(s *shopAPI) { s.block = nil })
	close(gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	b, err := sm.BuildSources(context.Background(), []string{"shop"})
	if err != nil || !b.Changes.Empty() {
		t.Errorf("after: %v %+v", err, b)
	}
}
