// Package files is a mesh.Source for local content: Markdown files with YAML front matter, and JSON
// and YAML data files, read from one folder.
//
// # Configuration
//
//	sources:
//	  - name: blog
//	    type: files
//	    dir: content            # the folder to read; relative paths are from the working directory
//	    include:                # slash-separated globs relative to dir (this is the default)
//	      - "**/*.md"
//	      - "**/*.markdown"
//	      - "**/*.json"
//	      - "**/*.yaml"
//	      - "**/*.yml"
//	    unsafeHTML: false       # true: raw HTML inside Markdown is rendered as written
//
// In a pattern "**" matches any number of folders, zero included ("**/*.md" matches "a.md" and
// "x/y/a.md"); every other segment is a path.Match pattern for one name. Files and folders whose
// names start with "." are skipped. Files ending in ".json" are read as JSON, ".yaml" and ".yml" as
// YAML, and every other included file as Markdown.
//
// # Authentication
//
// None: files are read with the rights of the process. Everything is read through an os.Root
// opened on dir, so a symbolic link that leads outside dir is never followed (it is skipped with a
// warning). A symbolic link to a file inside dir is read; symbolic links to folders are not walked.
//
// # Rate limits
//
// None. Files are decoded by up to GOMAXPROCS goroutines; FetchRequest.PageSize does not apply.
//
// # Mapping
//
// A Markdown file is one node. A JSON or YAML file holding an object is one node; one holding an
// array is one node per element (each element must be an object).
//
// IDs are mesh.NodeID(source, namespace, nativeId): the namespace is the first folder of the file's
// path ("." for files at the top of dir) and the nativeId is the rest of the path, without the
// extension. An array element appends "#" and the element's "id" field (a string or an integer), or
// "#" and its index from 0 when it has none. Examples for a source named blog:
//
//	posts/hello.md             blog/posts/hello
//	posts/2024/recap.md        blog/posts/2024%2Frecap
//	about.md                   blog/./about
//	data/tags.yaml, id: go     blog/data/tags#go
//
// Two files that make the same ID (posts/a.md and posts/a.json) are an error naming both.
//
// The type is the "type" key of the front matter, object or element, in PascalCase ("blog-post",
// "blog_post" and "blogPost" all give "BlogPost"); the key also stays among the fields. Without one, it is the first folder's name made
// singular and PascalCase: a trailing "ies" becomes "y" (categories: Category), "sses", "xes",
// "ches" and "shes" lose "es" (boxes: Box), and any other trailing "s" not preceded by "s", "u" or
// "i" is dropped (posts: Post, authors: Author; news: New is the price of simplicity: set type in
// such files). The elements of an array file take their type from the file's own name the same
// way, wherever it is (data/tags.yaml: Tag). A file at the top of dir is a "File".
//
// Fields are the front matter keys (or the object's keys), plus "path" (the file's slash path from
// dir, extension included). Markdown nodes also have "body", the Markdown after the front matter
// exactly as written, and "html", the body rendered by goldmark with GitHub Flavored Markdown
// (tables, strikethrough, task lists, autolinks). Raw HTML and dangerous links (javascript: and
// the like) are left out of "html" unless unsafeHTML is set. A front matter key named body, html or
// path is an error.
//
// YAML becomes JSON strictly: mapping keys must be strings (a key such as 2024 or true is an error
// naming the line: quote it), timestamps become RFC 3339 UTC strings (date: 2024-03-01 gives
// "2024-03-01T00:00:00Z"), NaN and infinities are errors, merge keys ("<<") are honored, and one
// document per file. JSON numbers are kept as written.
//
// UpdatedAt is the front matter's "updatedAt", else its "date": a YAML timestamp or a string in
// RFC 3339 or "2006-01-02" form (UTC when no zone is given). Otherwise it is unknown: file
// modification times are not used, because they differ between two checkouts of the same content
// and the output must not.
//
// References: a value {$ref: "<source>/<namespace>/<nativeId>"} (exactly two '/') is a node ID of
// any source, kept as is. Any other $ref names a file of this source by its path from dir: the
// extension may be left out, and an array element is named with "#<id>". A path with exactly two
// '/' must start with "/" or "./" to be told from a node ID.
//
//	author: {$ref: authors/jane}              # -> blog/authors/jane
//	tags: [{$ref: data/tags#go}]              # -> blog/data/tags#go
//	series: {$ref: /posts/2024/series}        # -> blog/posts/2024%2Fseries
//	product: {$ref: shop/product/42}          # another source's node, as is
//
// A plain value can also become a reference through a link rule of the mesh, for example
// author: jane with {from: Post.author, to: Author.nativeId, as: authorRef}.
//
// # Incremental sync
//
// The cursor holds the SHA-256 of every file read and the IDs it made. A Fetch with a cursor still
// walks dir and hashes every file (cheap), but decodes only the new and changed ones: it upserts
// their nodes, deletes the IDs that are no longer made (removed files, removed array elements) and
// returns Delta=true. Without a cursor, or when the cursor was made with another configuration or
// another version of this package, it fetches everything.
package files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
)

// Kind is the adapter's name, the config's `type: files`.
const Kind = "files"

// defaultInclude are the globs used when Config.Include is empty (see the package documentation).
var defaultInclude = []string{"**/*.md", "**/*.markdown", "**/*.json", "**/*.yaml", "**/*.yml"}

// rootNamespace is the namespace of files at the top of dir: no folder can have this name.
const rootNamespace = "."

// mappingVersion changes when the mapping changes, so that old cursors force a full fetch.
const mappingVersion = 1

// Config configures a files Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// Dir is the folder to read. A relative path is resolved against the working directory when
	// Fetch runs.
	Dir string `yaml:"dir"`
	// Include are slash-separated globs relative to Dir; "**" matches any number of folders. Empty
	// means Markdown, JSON and YAML files anywhere: **/*.md, **/*.markdown, **/*.json, **/*.yaml
	// and **/*.yml.
	Include []string `yaml:"include,omitempty"`
	// UnsafeHTML renders raw HTML found in Markdown as written. Off by default: raw HTML and
	// dangerous links are left out of the "html" field.
	UnsafeHTML bool `yaml:"unsafeHTML,omitempty"`
}

// Source reads a folder of Markdown, JSON and YAML files. It is safe for concurrent use.
type Source struct {
	cfg         Config
	globs       []glob
	md          goldmark.Markdown
	fingerprint string
}

var _ mesh.Source = (*Source)(nil)

// New validates cfg and returns a Source. It does no I/O.
func New(cfg Config) (*Source, error) {
	if cfg.Dir == "" {
		return nil, &mesh.ConfigError{Where: "files: key \"dir\"", Msg: "required: the folder to read"}
	}
	if len(cfg.Include) == 0 {
		cfg.Include = slices.Clone(defaultInclude)
	}
	s := &Source{cfg: cfg}
	for i, p := range cfg.Include {
		g, err := compileGlob(p)
		if err != nil {
			return nil, &mesh.ConfigError{Where: fmt.Sprintf("files: key \"include[%d]\"", i), Msg: err.Error()}
		}
		s.globs = append(s.globs, g)
	}
	var ropts []goldmark.Option
	if cfg.UnsafeHTML {
		ropts = append(ropts, goldmark.WithRendererOptions(html.WithUnsafe()))
	}
	s.md = goldmark.New(append(ropts, goldmark.WithExtensions(extension.GFM))...)
	h := sha256.Sum256(fmt.Appendf(nil, "%d\x00%q\x00%t", mappingVersion, cfg.Include, cfg.UnsafeHTML))
	s.fingerprint = hex.EncodeToString(h[:8])
	return s, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// FileError is a problem with one file: Path is its slash path from dir, Line the 1-based line
// (0 when it does not apply).
type FileError struct {
	Path string
	Line int
	Err  error
}

// Error returns "files: <path>:<line>: <what was wrong>" (without ":<line>" when Line is 0).
func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("files: %s:%d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("files: %s: %v", e.Path, e.Err)
}

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }

// fileError wraps err for file p, moving the line of a *lineError into FileError.Line. prefix, when
// set, says which part of the file was wrong ("front matter").
func fileError(p string, err error) error { return fileErrorIn(p, "", err) }

func fileErrorIn(p, prefix string, err error) error {
	var le *lineError
	if errors.As(err, &le) {
		err = errors.New(le.msg)
		if prefix != "" {
			err = fmt.Errorf("%s: %s", prefix, le.msg)
		}
		return &FileError{Path: p, Line: le.line, Err: err}
	}
	if prefix != "" {
		err = fmt.Errorf("%s: %w", prefix, err)
	}
	return &FileError{Path: p, Err: err}
}

// cursor is the incremental state: every file's hash and the IDs it made.
type cursor struct {
	V           int                  `json:"v"`
	Fingerprint string               `json:"fingerprint"`
	Source      string               `json:"source"`
	Files       map[string]fileState `json:"files"`
}

type fileState struct {
	SHA256 string   `json:"sha256"`
	IDs    []string `json:"ids"`
}

// fileResult is what reading one file gave.
type fileResult struct {
	hash      string
	unchanged bool
	ids       []string
	nodes     []mesh.Node
	err       error
}

// Fetch implements mesh.Source: a full fetch without a usable cursor, a delta of the changed files
// with one (see the package documentation).
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	log := req.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	prev := s.readCursor(req, log)

	root, err := os.OpenRoot(s.cfg.Dir)
	if err != nil {
		return mesh.FetchResult{}, fmt.Errorf("files: open dir %q: %w", s.cfg.Dir, err)
	}
	defer root.Close()

	paths, err := s.list(ctx, root, log)
	if err != nil {
		return mesh.FetchResult{}, err
	}

	results := make([]fileResult, len(paths))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, p := range paths {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if ctx.Err() != nil {
				results[i].err = ctx.Err()
				return
			}
			var ps *fileState
			if prev != nil {
				if st, ok := prev.Files[p]; ok {
					ps = &st
				}
			}
			results[i] = s.readFile(root, req.Source, p, ps)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return mesh.FetchResult{}, err
	}

	var errs []error
	for i := range results {
		if results[i].err != nil {
			errs = append(errs, results[i].err)
		}
	}
	if len(errs) > 0 {
		if len(errs) > 1 {
			return mesh.FetchResult{}, fmt.Errorf("%w (and %d more files with errors)", errs[0], len(errs)-1)
		}
		return mesh.FetchResult{}, errs[0]
	}

	// Every ID is made by one file only.
	owner := make(map[string]string)
	next := cursor{V: 1, Fingerprint: s.fingerprint, Source: req.Source, Files: make(map[string]fileState, len(paths))}
	for i, p := range paths {
		for _, id := range results[i].ids {
			if other, dup := owner[id]; dup {
				return mesh.FetchResult{}, fmt.Errorf("files: %s and %s both make node %q: rename one", other, p, id)
			}
			owner[id] = p
		}
		next.Files[p] = fileState{SHA256: results[i].hash, IDs: results[i].ids}
	}

	delta := prev != nil
	if delta {
		// Deletes first, and only of IDs that no file makes any more, so that a node moving from
		// one file to another survives.
		var gone []string
		for _, st := range prev.Files {
			for _, id := range st.IDs {
				if _, ok := owner[id]; !ok {
					gone = append(gone, id)
				}
			}
		}
		slices.Sort(gone)
		gone = slices.Compact(gone)
		for _, id := range gone {
			if err := out.Delete(id); err != nil {
				return mesh.FetchResult{}, err
			}
		}
	}
	for i := range results {
		if delta && results[i].unchanged {
			continue
		}
		for _, n := range results[i].nodes {
			if err := ctx.Err(); err != nil {
				return mesh.FetchResult{}, err
			}
			if err := out.Upsert(n); err != nil {
				return mesh.FetchResult{}, err
			}
		}
	}
	cur, err := json.Marshal(next)
	if err != nil {
		return mesh.FetchResult{}, fmt.Errorf("files: encode cursor: %w", err)
	}
	return mesh.FetchResult{Delta: delta, Cursor: cur}, nil
}

// readCursor decodes the request's cursor; nil means a full fetch.
func (s *Source) readCursor(req mesh.FetchRequest, log *slog.Logger) *cursor {
	if len(req.Cursor) == 0 {
		return nil
	}
	var c cursor
	if err := json.Unmarshal(req.Cursor, &c); err != nil || c.V != 1 || c.Files == nil {
		log.Warn("files: unreadable cursor, fetching everything", "err", err)
		return nil
	}
	if c.Fingerprint != s.fingerprint || c.Source != req.Source {
		log.Info("files: configuration changed since the last fetch, fetching everything")
		return nil
	}
	return &c
}

// list walks dir and returns the slash paths of the included files, sorted.
func (s *Source) list(ctx context.Context, root *os.Root, log *slog.Logger) ([]string, error) {
	var paths []string
	fsys := root.FS()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			return fmt.Errorf("files: walk %s: %w", p, err)
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		segs := strings.Split(p, "/")
		if d.IsDir() {
			if !s.mayMatchUnder(segs) {
				return fs.SkipDir
			}
			return nil
		}
		if !s.matches(segs) {
			return nil
		}
		switch t := d.Type(); {
		case t.IsRegular():
		case t&fs.ModeSymlink != 0:
			fi, err := root.Stat(p)
			if err != nil {
				log.Warn("files: symbolic link skipped (it leads outside dir or nowhere)", "path", p, "err", err)
				return nil
			}
			if !fi.Mode().IsRegular() {
				log.Warn("files: symbolic link to a folder or special file skipped", "path", p)
				return nil
			}
		default:
			return nil
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	return paths, nil
}

func (s *Source) matches(segs []string) bool {
	for _, g := range s.globs {
		if g.match(segs) {
			return true
		}
	}
	return false
}

func (s *Source) mayMatchUnder(segs []string) bool {
	for _, g := range s.globs {
		if g.mayMatchUnder(segs) {
			return true
		}
	}
	return false
}

// readFile reads, hashes and (when it changed since prev) maps one file.
func (s *Source) readFile(root *os.Root, source, p string, prev *fileState) fileResult {
	data, err := root.ReadFile(p)
	if err != nil {
		return fileResult{err: fileError(p, err)}
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	if prev != nil && prev.SHA256 == hash {
		return fileResult{hash: hash, unchanged: true, ids: prev.IDs}
	}
	nodes, err := s.mapFile(source, p, data)
	if err != nil {
		return fileResult{err: err}
	}
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return fileResult{hash: hash, ids: ids, nodes: nodes}
}

// format is how a file is decoded, chosen by its extension.
type format int

const (
	formatMarkdown format = iota
	formatJSON
	formatYAML
)

func formatOf(p string) format {
	switch strings.ToLower(path.Ext(p)) {
	case ".json":
		return formatJSON
	case ".yaml", ".yml":
		return formatYAML
	}
	return formatMarkdown
}

// knownExts are stripped from paths to make native IDs, and from $ref paths.
var knownExts = []string{".md", ".markdown", ".json", ".yaml", ".yml"}

// stem is p without its extension.
func stem(p string) string {
	ext := path.Ext(p)
	if ext == "" || strings.Contains(ext, "/") {
		return p
	}
	return p[:len(p)-len(ext)]
}

// splitStem splits a path without extension into namespace and native id.
func splitStem(st string) (namespace, nativeID string) {
	if ns, rest, ok := strings.Cut(st, "/"); ok {
		return ns, rest
	}
	return rootNamespace, st
}

// reservedKeys are the fields the source sets on Markdown nodes.
var reservedKeys = []string{"body", "html", "path"}

// mapFile decodes one file into its nodes. source is the instance name, p the slash path from dir.
func (s *Source) mapFile(source, p string, data []byte) ([]mesh.Node, error) {
	switch formatOf(p) {
	case formatJSON:
		v, err := decodeJSON(data)
		if err != nil {
			return nil, fileError(p, err)
		}
		return s.mapData(source, p, v)
	case formatYAML:
		doc, err := decodeYAML(bytes.TrimPrefix(data, utf8BOM), 1)
		if err != nil {
			return nil, fileError(p, err)
		}
		if doc.value == nil {
			return nil, fileError(p, errors.New("empty file: want a YAML mapping or a list of mappings"))
		}
		return s.mapData(source, p, doc.value)
	}
	n, err := s.mapMarkdown(source, p, data)
	if err != nil {
		return nil, err
	}
	return []mesh.Node{n}, nil
}

// mapMarkdown maps a Markdown file to its node.
func (s *Source) mapMarkdown(source, p string, data []byte) (mesh.Node, error) {
	fm, err := splitFrontMatter(data)
	if err != nil {
		return mesh.Node{}, fileError(p, err)
	}
	fields := map[string]any{}
	var keyLine map[string]int
	if fm.yaml != nil {
		doc, err := decodeYAML(fm.yaml, fm.yamlLine)
		if err != nil {
			return mesh.Node{}, fileErrorIn(p, "front matter", err)
		}
		switch v := doc.value.(type) {
		case nil:
		case map[string]any:
			fields = v
		default:
			return mesh.Node{}, &FileError{Path: p, Line: fm.yamlLine, Err: fmt.Errorf("front matter: want a YAML mapping of keys, got %s", valueKind(v))}
		}
		keyLine = doc.keyLine
	}
	for _, k := range reservedKeys {
		if _, ok := fields[k]; ok {
			return mesh.Node{}, &FileError{Path: p, Line: keyLine[k], Err: fmt.Errorf("front matter: key %q is reserved: the source sets body, html and path", k)}
		}
	}
	var buf bytes.Buffer
	if err := s.md.Convert(fm.body, &buf); err != nil {
		return mesh.Node{}, fileError(p, fmt.Errorf("render Markdown: %w", err))
	}
	fields["body"] = string(fm.body)
	fields["html"] = buf.String()
	fields["path"] = p
	ns, native := splitStem(stem(p))
	n, err := s.node(source, ns, native, defaultType(p, false), fields)
	if err != nil {
		var ke *keyError
		if errors.As(err, &ke) {
			return mesh.Node{}, &FileError{Path: p, Line: keyLine[ke.key], Err: fmt.Errorf("front matter: %w", err)}
		}
		return mesh.Node{}, &FileError{Path: p, Err: err}
	}
	return n, nil
}

// mapData maps a decoded JSON or YAML file: an object is one node, an array one node per element.
func (s *Source) mapData(source, p string, v any) ([]mesh.Node, error) {
	ns, native := splitStem(stem(p))
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["path"]; ok {
			return nil, fileError(p, errors.New("key \"path\" is reserved: the source sets it"))
		}
		x["path"] = p
		n, err := s.node(source, ns, native, defaultType(p, false), x)
		if err != nil {
			return nil, fileError(p, err)
		}
		return []mesh.Node{n}, nil
	case []any:
		nodes := make([]mesh.Node, 0, len(x))
		seen := make(map[string]int, len(x))
		for i, e := range x {
			obj, ok := e.(map[string]any)
			if !ok {
				return nil, fileError(p, fmt.Errorf("element %d is %s: each element of an array file must be an object", i, valueKind(e)))
			}
			key, err := elementKey(obj, i)
			if err != nil {
				return nil, fileError(p, fmt.Errorf("element %d: %w", i, err))
			}
			if j, dup := seen[key]; dup {
				return nil, fileError(p, fmt.Errorf("elements %d and %d both have id %q", j, i, key))
			}
			seen[key] = i
			if _, ok := obj["path"]; ok {
				return nil, fileError(p, fmt.Errorf("element %d: key \"path\" is reserved: the source sets it", i))
			}
			obj["path"] = p
			n, err := s.node(source, ns, native+"#"+key, defaultType(p, true), obj)
			if err != nil {
				return nil, fileError(p, fmt.Errorf("element %d: %w", i, err))
			}
			nodes = append(nodes, n)
		}
		return nodes, nil
	}
	return nil, fileError(p, fmt.Errorf("want an object or an array of objects, got %s", valueKind(v)))
}

// elementKey is an array element's part of its native id: its "id" field, or its index.
func elementKey(obj map[string]any, i int) (string, error) {
	switch id := obj["id"].(type) {
	case nil:
		return strconv.Itoa(i), nil
	case string:
		if id == "" {
			return "", errors.New("empty \"id\"")
		}
		return id, nil
	case json.Number:
		if _, err := strconv.ParseInt(string(id), 10, 64); err != nil {
			return "", fmt.Errorf("\"id\" %s is not an integer", id)
		}
		return string(id), nil
	default:
		return "", fmt.Errorf("\"id\" is %s: want a string or an integer", valueKind(id))
	}
}

// keyError is a problem with one top-level key of a node's fields.
type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string { return e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

// node finishes a node: type, references, updatedAt, fields JSON.
func (s *Source) node(source, ns, native, fallbackType string, fields map[string]any) (mesh.Node, error) {
	typ := fallbackType
	if t, ok := fields["type"]; ok {
		ts, isStr := t.(string)
		pt := pascalCase(ts)
		if !isStr || pt == "" {
			return mesh.Node{}, &keyError{"type", fmt.Errorf("\"type\" is %s: want a type name such as BlogPost", describe(t))}
		}
		typ = pt
	}
	for k, v := range fields {
		if err := resolveRefs(source, v, k); err != nil {
			return mesh.Node{}, &keyError{k, err}
		}
	}
	b, err := marshalFields(fields)
	if err != nil {
		return mesh.Node{}, fmt.Errorf("encode fields: %w", err)
	}
	return mesh.Node{
		ID:        mesh.NodeID(source, ns, native),
		Type:      typ,
		NativeID:  native,
		UpdatedAt: updatedAt(fields),
		Fields:    b,
	}, nil
}

// resolveRefs rewrites every {"$ref": ...} inside v in place (see the package documentation).
func resolveRefs(source string, v any, at string) error {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			if r, ok := x["$ref"]; ok {
				rs, isStr := r.(string)
				if !isStr {
					return fmt.Errorf("field %s: $ref is %s: want a string", fieldName(at), describe(r))
				}
				id, err := resolveRef(source, rs)
				if err != nil {
					return fmt.Errorf("field %s: %w", fieldName(at), err)
				}
				x["$ref"] = id
				return nil
			}
		}
		for k, e := range x {
			if err := resolveRefs(source, e, joinField(at, k)); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := resolveRefs(source, e, joinField(at, strconv.Itoa(i))); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinField(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

func fieldName(at string) string {
	if at == "" {
		return "(top)"
	}
	return strconv.Quote(at)
}

// resolveRef turns a $ref value into a node ID: a node ID (exactly two '/') as is, or a path of a
// file of this source.
func resolveRef(source, v string) (string, error) {
	p, explicit := v, false
	for _, pre := range []string{"./", "/"} {
		if strings.HasPrefix(p, pre) {
			p, explicit = p[len(pre):], true
			break
		}
	}
	if !explicit && strings.Count(v, "/") == 2 {
		if !mesh.ValidNodeID(v) {
			return "", fmt.Errorf("$ref %q is not a node id <source>/<namespace>/<nativeId> (start a path with \"/\")", v)
		}
		return v, nil
	}
	base, frag, hasFrag := strings.Cut(p, "#")
	if base == "" || path.Clean(base) != base || base == ".." || strings.HasPrefix(base, "../") || (hasFrag && frag == "") {
		return "", fmt.Errorf("$ref %q is not a path of a file in dir", v)
	}
	if ext := path.Ext(base); slices.Contains(knownExts, strings.ToLower(ext)) {
		base = base[:len(base)-len(ext)]
	}
	if base == "" || strings.HasSuffix(base, "/") || path.Base(base) == "." {
		return "", fmt.Errorf("$ref %q is not a path of a file in dir", v)
	}
	if hasFrag {
		base += "#" + frag
	}
	ns, native := splitStem(base)
	return mesh.NodeID(source, ns, native), nil
}

// updatedAt reads "updatedAt", else "date".
func updatedAt(fields map[string]any) time.Time {
	for _, k := range []string{"updatedAt", "date"} {
		s, ok := fields[k].(string)
		if !ok {
			continue
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC()
			}
		}
		return time.Time{}
	}
	return time.Time{}
}

// defaultType is the type of a node without a "type" key: for an element of an array file, from
// the file's name; otherwise from the first folder; else "File".
func defaultType(p string, element bool) string {
	name := ""
	if element {
		name = path.Base(stem(p))
	} else if folder, _, ok := strings.Cut(p, "/"); ok {
		name = folder
	}
	if t := pascalCase(singular(name)); t != "" {
		return t
	}
	return "File"
}

// singular makes an English plural singular by simple suffix rules (see the package documentation).
func singular(w string) string {
	lw := strings.ToLower(w)
	switch {
	case strings.HasSuffix(lw, "ies") && len(w) > 3:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(lw, "sses"), strings.HasSuffix(lw, "xes"), strings.HasSuffix(lw, "ches"), strings.HasSuffix(lw, "shes"):
		return w[:len(w)-2]
	case strings.HasSuffix(lw, "s") && len(w) > 1 && !strings.HasSuffix(lw, "ss") && !strings.HasSuffix(lw, "us") && !strings.HasSuffix(lw, "is"):
		return w[:len(w)-1]
	}
	return w
}

// pascalCase turns "blog-post", "blog_post", "blog post" and "blogPost" into "BlogPost". Characters
// other than letters and digits separate words and are dropped.
func pascalCase(s string) string {
	var b strings.Builder
	upper := true
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

func valueKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// describe names a value's kind, and shows it when it is a short scalar.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if utf8.RuneCountInString(x) <= 40 {
			return strconv.Quote(x)
		}
	case json.Number:
		return "the number " + string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return valueKind(v)
}
