package meshtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// httpMethods are the folder names under a fixture directory that hold fixtures.
var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// HeadersExt is the extension of a fixture's sidecar file holding its status and response headers.
const HeadersExt = ".headers"

// fixture is one static response.
type fixture struct {
	file   string // path relative to the fixture directory, for messages
	method string
	path   string     // escaped URL path
	query  url.Values // as named in the file
	status int
	header http.Header
	body   []byte
}

// FixtureFile returns the file name, relative to a fixture directory, that answers a request with
// this method, escaped path and query: <METHOD>/<path>[__<canonical query>].json. A path ending in
// "/" is served by its folder's _index file. The query is canonical: keys, and each key's values,
// sorted, then URL-encoded.
func FixtureFile(method, escapedPath string, query url.Values) string {
	p := strings.TrimPrefix(escapedPath, "/")
	if p == "" || strings.HasSuffix(p, "/") {
		p += "_index"
	}
	if q := canonicalQuery(query, nil); q != "" {
		p += "__" + q
	}
	return method + "/" + p + ".json"
}

// load reads every fixture under dir.
func (s *FixtureServer) load(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("not a directory")
	}
	type pair struct{ body, headers string }
	files := map[string]*pair{} // key: slash path without extension
	var keys []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		top, _, nested := strings.Cut(rel, "/")
		if d.IsDir() {
			if !nested && !slices.Contains(httpMethods, top) {
				return fs.SkipDir // data files and other folders beside the method folders
			}
			return nil
		}
		if !nested || strings.HasPrefix(d.Name(), ".") {
			return nil // a file beside the method folders, or a hidden file
		}
		ext := path.Ext(d.Name())
		if ext == "" {
			return fmt.Errorf("%s: a fixture file needs an extension (.json, .html, .txt, %s...)", rel, HeadersExt)
		}
		key := strings.TrimSuffix(rel, ext)
		f := files[key]
		if f == nil {
			f = &pair{}
			files[key] = f
			keys = append(keys, key)
		}
		if ext == HeadersExt {
			f.headers = rel
		} else {
			if f.body != "" {
				return fmt.Errorf("%s and %s answer the same request", f.body, rel)
			}
			f.body = rel
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(keys)
	seen := map[string]string{}
	for _, key := range keys {
		f := files[key]
		fx, err := parseFixtureName(key)
		if err != nil {
			return err
		}
		fx.status = http.StatusOK
		fx.header = http.Header{}
		if f.body != "" {
			fx.file = f.body
			if fx.body, err = os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.body))); err != nil {
				return err
			}
			fx.header.Set("Content-Type", contentTypeFor(path.Ext(f.body)))
		} else {
			fx.file = f.headers
		}
		if f.headers != "" {
			if err := parseHeadersFile(filepath.Join(dir, filepath.FromSlash(f.headers)), fx); err != nil {
				return fmt.Errorf("%s: %w", f.headers, err)
			}
		}
		id := fx.method + " " + fx.path + "?" + canonicalQuery(fx.query, nil)
		if other, dup := seen[id]; dup {
			return fmt.Errorf("%s and %s answer the same request (queries are compared in canonical order)", other, fx.file)
		}
		seen[id] = fx.file
		k := fx.method + " " + fx.path
		s.fixtures[k] = append(s.fixtures[k], fx)
	}
	return nil
}

// parseFixtureName turns "GET/a/b__x=1&y=2" into method GET, path /a/b, query x=1&y=2.
func parseFixtureName(key string) (*fixture, error) {
	method, rest, _ := strings.Cut(key, "/")
	dir, name := path.Split(rest)
	name, rawQuery, _ := strings.Cut(name, "__")
	if name == "" {
		return nil, fmt.Errorf("%s: empty path segment before the query part", key)
	}
	p := "/" + dir + name
	if name == "_index" {
		p = "/" + dir
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("%s: query part: %v", key, err)
	}
	return &fixture{method: method, path: p, query: q}, nil
}

// contentTypeFor gives the default Content-Type of a fixture body by its extension.
func contentTypeFor(ext string) string {
	switch ext {
	case ".json":
		return "application/json"
	case ".html":
		return "text/html; charset=utf-8"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".xml":
		return "application/xml"
	case ".ndjson":
		return "application/x-ndjson"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// parseHeadersFile reads a sidecar: "Name: value" lines, "#" comments, and the pseudo-header
// "Status: <code>" (the CGI convention) for the status.
func parseHeadersFile(name string, fx *fixture) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	set := map[string]bool{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return fmt.Errorf("line %d: want \"Name: value\"", n)
		}
		k = textproto.CanonicalMIMEHeaderKey(k)
		if k == "Status" {
			code, _, _ := strings.Cut(v, " ")
			st, err := strconv.Atoi(code)
			if err != nil || st < 100 || st > 999 {
				return fmt.Errorf("line %d: status %q is not an HTTP status code", n, v)
			}
			fx.status = st
			continue
		}
		if !set[k] { // the sidecar's values replace the defaults
			fx.header.Del(k)
			set[k] = true
		}
		fx.header.Add(k, v)
	}
	return sc.Err()
}

// lookupFixture finds the fixture for a request, ignoring the ignored query parameters on both sides.
// More than one match is reported as ambiguous.
func (s *FixtureServer) lookupFixture(method, escapedPath string, q url.Values) (*fixture, int) {
	s.mu.Lock()
	ignore := s.ignore
	s.mu.Unlock()
	want := canonicalQuery(q, ignore)
	var found *fixture
	n := 0
	for _, fx := range s.fixtures[method+" "+escapedPath] {
		if canonicalQuery(fx.query, ignore) == want {
			if found == nil {
				found = fx
			}
			n++
		}
	}
	return found, n
}

// serveFixture answers from the static fixtures, or 404.
func (s *FixtureServer) serveFixture(w http.ResponseWriter, r *http.Request, update func(func(*Recorded))) {
	q := r.URL.Query()
	p := r.URL.EscapedPath()
	fx, n := s.lookupFixture(r.Method, p, q)
	if fx == nil && r.Method == http.MethodHead {
		fx, n = s.lookupFixture(http.MethodGet, p, q)
	}
	if fx == nil {
		notFound(w, r, FixtureFile(r.Method, p, q))
		return
	}
	if n > 1 {
		WriteJSON(w, http.StatusInternalServerError, map[string]string{
			"error": fmt.Sprintf("meshtest: %d fixtures match %s %s once ignored query parameters are left out", n, r.Method, r.URL.RequestURI()),
		})
		return
	}
	update(func(x *Recorded) { x.Route = "file " + fx.file })
	base := s.URL
	for k, vs := range fx.header {
		for _, v := range vs {
			w.Header().Add(k, strings.ReplaceAll(v, BaseURLPlaceholder, base))
		}
	}
	body := bytes.ReplaceAll(fx.body, []byte(BaseURLPlaceholder), []byte(base))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(fx.status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
