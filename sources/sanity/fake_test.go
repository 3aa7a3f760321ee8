package sanity

// A fake Sanity Query API for the tests: it holds a dataset (NDJSON, the export format), parses the
// GROQ the adapter sends (a subset: filters with && || ! and comparisons, order(), slices,
// projections of plain attributes), and answers {"ms", "result"} the way the HTTP Query API does:
// GET with the query and JSON-encoded $parameters in the URL, or POST {"query", "params"}.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

// dataset is a mutable set of documents, raw JSON kept as the source of truth.
type dataset struct {
	mu   sync.Mutex
	docs map[string]map[string]any // _id -> document
}

func loadDataset(t testing.TB, path string) *dataset {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ds := &dataset{docs: map[string]map[string]any{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		ds.put(t, string(line))
	}
	return ds
}

// put adds or replaces a document given as JSON.
func (ds *dataset) put(t testing.TB, doc string) {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("dataset document %s: %v", doc, err)
	}
	id, _ := m["_id"].(string)
	if id == "" {
		t.Fatalf("dataset document without _id: %s", doc)
	}
	ds.mu.Lock()
	ds.docs[id] = m
	ds.mu.Unlock()
}

func (ds *dataset) remove(id string) {
	ds.mu.Lock()
	delete(ds.docs, id)
	ds.mu.Unlock()
}

// view returns the documents a perspective sees: published hides drafts; drafts overlays each
// draft on its published document, under the published ID, with _originalId.
func (ds *dataset) view(perspective string) []map[string]any {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	byID := map[string]map[string]any{}
	for id, d := range ds.docs {
		if strings.HasPrefix(id, draftsPrefix) {
			continue
		}
		byID[id] = d
	}
	if perspective == "drafts" || perspective == "previewDrafts" {
		for id, d := range ds.docs {
			pub, ok := strings.CutPrefix(id, draftsPrefix)
			if !ok {
				continue
			}
			c := map[string]any{}
			for k, v := range d {
				c[k] = v
			}
			c["_id"], c["_originalId"] = pub, id
			byID[pub] = c
		}
	}
	out := make([]map[string]any, 0, len(byID))
	for _, d := range byID {
		out = append(out, d)
	}
	return out
}

// fakeAPI serves one project's dataset.
type fakeAPI struct {
	ds          *dataset
	version     string // "v2025-02-19"
	dataset     string
	perspective string // the perspective every request must ask for

	mu      sync.Mutex
	queries []string // every query received, in order
	posts   int      // POST requests
}

func newFakeAPI(t testing.TB) *fakeAPI {
	return &fakeAPI{ds: loadDataset(t, "testdata/production.ndjson"), version: DefaultAPIVersion,
		dataset: "production", perspective: "published"}
}

// route registers the query endpoint on a fixture server.
func (f *fakeAPI) route(srv *meshtest.FixtureServer) {
	p := "/" + f.version + "/data/query/" + f.dataset
	srv.Handle("GET "+p, f.ServeHTTP)
	srv.Handle("POST "+p, f.ServeHTTP)
}

func (f *fakeAPI) queryLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries)
}

func queryError(w http.ResponseWriter, msg string) {
	meshtest.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
		"description": msg, "type": "queryParseError", "start": 0, "end": 1}})
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var query string
	params := map[string]any{}
	switch r.Method {
	case http.MethodGet:
		query = r.URL.Query().Get("query")
		for k, vs := range r.URL.Query() {
			name, ok := strings.CutPrefix(k, "$")
			if !ok {
				continue
			}
			var v any
			if err := json.Unmarshal([]byte(vs[0]), &v); err != nil {
				queryError(w, fmt.Sprintf("param $%s: not valid JSON", name))
				return
			}
			params[name] = v
		}
	case http.MethodPost:
		var body struct {
			Query  string         `json:"query"`
			Params map[string]any `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			queryError(w, "body: "+err.Error())
			return
		}
		query = body.Query
		if body.Params != nil {
			params = body.Params
		}
		f.mu.Lock()
		f.posts++
		f.mu.Unlock()
	}
	f.mu.Lock()
	f.queries = append(f.queries, query)
	f.mu.Unlock()
	if got := r.URL.Query().Get("perspective"); got != f.perspective {
		queryError(w, fmt.Sprintf("perspective %q, the test wants %q", got, f.perspective))
		return
	}
	q, err := parseQuery(query)
	if err != nil {
		queryError(w, err.Error())
		return
	}
	result, err := q.run(f.ds.view(f.perspective), params)
	if err != nil {
		queryError(w, err.Error())
		return
	}
	meshtest.WriteJSON(w, http.StatusOK, map[string]any{"ms": 1, "result": result, "syncTags": []string{"s1:x"}})
}

// groqQuery is a parsed query: *[filter] | order(attr) [from...to] {attrs}.
type groqQuery struct {
	filter   groqNode
	order    string
	from, to int // to < 0: no slice
	project  []string
}

func (q *groqQuery) run(docs []map[string]any, params map[string]any) ([]any, error) {
	var out []map[string]any
	for _, d := range docs {
		v, err := q.filter.eval(d, params)
		if err != nil {
			return nil, err
		}
		if v == true {
			out = append(out, d)
		}
	}
	if q.order != "" {
		slices.SortFunc(out, func(a, b map[string]any) int {
			x, _ := a[q.order].(string)
			y, _ := b[q.order].(string)
			return strings.Compare(x, y)
		})
	}
	if q.to >= 0 {
		out = out[min(q.from, len(out)):min(q.to, len(out))]
	}
	res := make([]any, len(out))
	for i, d := range out {
		if q.project == nil {
			res[i] = d
			continue
		}
		p := map[string]any{}
		for _, k := range q.project {
			p[k] = d[k]
		}
		res[i] = p
	}
	return res, nil
}

// node is a filter expression.
type groqNode interface {
	eval(doc map[string]any, params map[string]any) (any, error)
}

type (
	orNode  struct{ l, r groqNode }
	andNode struct{ l, r groqNode }
	notNode struct{ x groqNode }
	cmpNode struct {
		op   string
		l, r groqNode
	}
	attrNode struct{ path []string }
	litNode  struct{ v any }
	parNode  struct{ name string }
	arrNode  struct{ items []groqNode }
)

func (n orNode) eval(d, p map[string]any) (any, error) {
	a, err := n.l.eval(d, p)
	if err != nil || a == true {
		return a, err
	}
	return n.r.eval(d, p)
}

func (n andNode) eval(d, p map[string]any) (any, error) {
	a, err := n.l.eval(d, p)
	if err != nil || a != true {
		return false, err
	}
	b, err := n.r.eval(d, p)
	return b == true, err
}

func (n notNode) eval(d, p map[string]any) (any, error) {
	a, err := n.x.eval(d, p)
	return a != true, err
}

func (n attrNode) eval(d, _ map[string]any) (any, error) {
	var v any = d
	for _, k := range n.path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, nil
		}
		v = m[k]
	}
	return v, nil
}

func (n litNode) eval(_, _ map[string]any) (any, error) { return n.v, nil }

func (n parNode) eval(_, p map[string]any) (any, error) {
	v, ok := p[n.name]
	if !ok {
		return nil, fmt.Errorf("param $%s referenced, but not provided", n.name)
	}
	return v, nil
}

func (n arrNode) eval(d, p map[string]any) (any, error) {
	out := make([]any, len(n.items))
	for i, it := range n.items {
		v, err := it.eval(d, p)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (n cmpNode) eval(d, p map[string]any) (any, error) {
	a, err := n.l.eval(d, p)
	if err != nil {
		return nil, err
	}
	b, err := n.r.eval(d, p)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "==":
		return equal(a, b), nil
	case "!=":
		return !equal(a, b), nil
	case "in":
		arr, _ := b.([]any)
		for _, x := range arr {
			if equal(a, x) {
				return true, nil
			}
		}
		return false, nil
	case "match":
		s, ok1 := a.(string)
		pat, ok2 := b.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pat), `\*`, ".*") + "$"
		return regexp.MustCompile(re).MatchString(s), nil
	}
	// Ordering comparisons: strings with strings, numbers with numbers; anything else is null.
	if x, ok := a.(string); ok {
		y, ok := b.(string)
		if !ok {
			return nil, nil
		}
		c := strings.Compare(x, y)
		return cmpResult(n.op, c), nil
	}
	x, ok1 := toFloat(a)
	y, ok2 := toFloat(b)
	if !ok1 || !ok2 {
		return nil, nil
	}
	c := 0
	if x < y {
		c = -1
	} else if x > y {
		c = 1
	}
	return cmpResult(n.op, c), nil
}

func cmpResult(op string, c int) bool {
	switch op {
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	default:
		return c <= 0
	}
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func equal(a, b any) bool {
	if x, ok := toFloat(a); ok {
		y, ok := toFloat(b)
		return ok && x == y
	}
	return a == b
}

// parseQuery parses the GROQ subset.
func parseQuery(src string) (*groqQuery, error) {
	p := &parser{src: src}
	p.skip()
	if !p.eat("*") || !p.eat("[") {
		return nil, p.errorf("want *[")
	}
	filter, err := p.expr()
	if err != nil {
		return nil, err
	}
	if !p.eat("]") {
		return nil, p.errorf("want ]")
	}
	q := &groqQuery{filter: filter, to: -1}
	if p.eat("|") {
		if !p.eat("order") || !p.eat("(") {
			return nil, p.errorf("want order(")
		}
		q.order = p.ident()
		if q.order == "" || !p.eat(")") {
			return nil, p.errorf("want order(<attribute>)")
		}
	}
	if p.eat("[") {
		from, to := p.number(), -1
		if !p.eat("...") {
			return nil, p.errorf("want ...")
		}
		to = p.number()
		if from < 0 || to < 0 || !p.eat("]") {
			return nil, p.errorf("want [a...b]")
		}
		q.from, q.to = from, to
	}
	if p.eat("{") {
		q.project = []string{}
		for {
			id := p.ident()
			if id == "" {
				return nil, p.errorf("want an attribute in the projection")
			}
			q.project = append(q.project, id)
			if p.eat("}") {
				break
			}
			if !p.eat(",") {
				return nil, p.errorf("want , or }")
			}
		}
	}
	if p.pos != len(p.src) {
		return nil, p.errorf("unexpected %q", p.src[p.pos:])
	}
	return q, nil
}

type parser struct {
	src string
	pos int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("groq at %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) skip() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

func (p *parser) eat(tok string) bool {
	if strings.HasPrefix(p.src[p.pos:], tok) {
		p.pos += len(tok)
		p.skip()
		return true
	}
	return false
}

func (p *parser) ident() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '_' || unicode.IsLetter(rune(c)) || (p.pos > start && unicode.IsDigit(rune(c))) {
			p.pos++
			continue
		}
		break
	}
	id := p.src[start:p.pos]
	p.skip()
	return id
}

func (p *parser) number() int {
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		p.pos++
	}
	n, err := strconv.Atoi(p.src[start:p.pos])
	p.skip()
	if err != nil {
		return -1
	}
	return n
}

func (p *parser) expr() (groqNode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.eat("||") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *parser) and() (groqNode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.eat("&&") {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *parser) unary() (groqNode, error) {
	if p.eat("!") {
		x, err := p.unary()
		return notNode{x}, err
	}
	if p.eat("(") {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, p.errorf("want )")
		}
		return x, nil
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	for _, op := range []string{"==", "!=", ">=", "<=", ">", "<", "in ", "match "} {
		if p.eat(op) {
			r, err := p.operand()
			if err != nil {
				return nil, err
			}
			return cmpNode{op: strings.TrimSpace(op), l: l, r: r}, nil
		}
	}
	return l, nil
}

func (p *parser) operand() (groqNode, error) {
	switch {
	case p.eat("$"):
		name := p.ident()
		if name == "" {
			return nil, p.errorf("want a parameter name")
		}
		return parNode{name}, nil
	case p.pos < len(p.src) && p.src[p.pos] == '"':
		var s string
		end := p.pos + 1
		for end < len(p.src) && p.src[end] != '"' {
			if p.src[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(p.src) {
			return nil, p.errorf("unterminated string")
		}
		if err := json.Unmarshal([]byte(p.src[p.pos:end+1]), &s); err != nil {
			return nil, p.errorf("bad string")
		}
		p.pos = end + 1
		p.skip()
		return litNode{s}, nil
	case p.eat("["):
		var items []groqNode
		for !p.eat("]") {
			it, err := p.operand()
			if err != nil {
				return nil, err
			}
			items = append(items, it)
			if !p.eat(",") && !strings.HasPrefix(p.src[p.pos:], "]") {
				return nil, p.errorf("want , or ]")
			}
		}
		return arrNode{items}, nil
	case p.eat("true"):
		return litNode{true}, nil
	case p.eat("false"):
		return litNode{false}, nil
	case p.eat("null"):
		return litNode{nil}, nil
	}
	if p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		return litNode{float64(p.number())}, nil
	}
	var path []string
	for {
		id := p.ident()
		if id == "" {
			return nil, p.errorf("want an attribute, a literal or a parameter")
		}
		path = append(path, id)
		if !p.eat(".") {
			break
		}
	}
	return attrNode{path}, nil
}
