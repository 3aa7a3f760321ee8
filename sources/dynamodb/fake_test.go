package dynamodb

// A fake DynamoDB JSON endpoint for the tests, built from the documented protocol: POST / with
// X-Amz-Target DynamoDB_20120810.<operation> and Content-Type application/x-amz-json-1.0, every
// request signed with SigV4 (checked here with an implementation independent of the signer under
// test), DescribeTable, and Scan with Limit, ExclusiveStartKey / LastEvaluatedKey (sent whenever a
// page is full, as DynamoDB does, so a scan can end on an empty page), Segment / TotalSegments
// (items spread over segments by a hash of their partition key) and ConsistentRead. Errors are 400s
// with {"__type": "...#<Type>", "message": "..."}.

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

// The fake's credentials and region.
const (
	testKeyID   = "AKIDTESTEXAMPLE"
	testSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY"
	testToken   = "FQoGZXIvYXdzEXAMPLEsessiontoken"
	testRegion  = "eu-west-1"
	defaultPage = 3 // items per page without a Limit: the fake's stand-in for DynamoDB's 1 MB
)

type fakeTable struct {
	Name      string                       `json:"TableName"`
	KeySchema []map[string]string          `json:"KeySchema"`
	AttrDefs  []map[string]string          `json:"AttributeDefinitions"`
	Items     []map[string]json.RawMessage `json:"Items"`
}

func (t *fakeTable) key(kind string) string {
	for _, k := range t.KeySchema {
		if k["KeyType"] == kind {
			return k["AttributeName"]
		}
	}
	return ""
}

// scanSeen is a Scan input the fake received.
type scanSeen struct {
	Table          string
	Segment, Total int
	Limit          int
	Consistent     bool
	StartKey       string
}

type fakeDynamo struct {
	t       testing.TB
	keyID   string
	secret  string
	token   string // "" accepts requests without X-Amz-Security-Token
	region  string
	pageCap int

	mu       sync.Mutex
	tables   map[string]*fakeTable
	scans    []scanSeen
	targets  []string
	dates    []string // X-Amz-Date of every request
	verified int
}

func newFakeDynamo(t testing.TB) *fakeDynamo {
	f := &fakeDynamo{t: t, keyID: testKeyID, secret: testSecret, token: testToken, region: testRegion,
		pageCap: defaultPage, tables: map[string]*fakeTable{}}
	var data struct{ Tables []*fakeTable }
	meshtest.ReadJSON(t, "testdata/tables.json", &data)
	for _, tb := range data.Tables {
		f.tables[tb.Name] = tb
	}
	return f
}

// route serves the fake on a fixture server: a request with another access key is answered like
// DynamoDB answers an unknown key (the conformance suite's Unauthorized subtest).
func (f *fakeDynamo) route(srv *meshtest.FixtureServer) {
	srv.RequireFunc(func(r *http.Request) bool {
		return strings.Contains(r.Header.Get("Authorization"), "Credential="+f.keyID+"/")
	})
	srv.SetUnauthorized(http.StatusBadRequest, http.Header{"Content-Type": {contentType}},
		[]byte(`{"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"The security token included in the request is invalid."}`))
	srv.Handle("POST /{$}", f.serve)
}

func (f *fakeDynamo) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if ct := r.Header.Get("Content-Type"); ct != contentType {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "<UnknownOperationException/>\n")
		return
	}
	if err := verifySigV4(r, body, f.secret, f.region, service, time.Now()); err != nil {
		writeError(w, http.StatusBadRequest, "com.amazon.coral.service#InvalidSignatureException", err.Error())
		return
	}
	if f.token != "" && r.Header.Get("X-Amz-Security-Token") != f.token {
		writeError(w, http.StatusBadRequest, "com.amazon.coral.service#UnrecognizedClientException",
			"The security token included in the request is invalid")
		return
	}
	target := r.Header.Get("X-Amz-Target")
	f.mu.Lock()
	f.verified++
	f.targets = append(f.targets, target)
	f.dates = append(f.dates, r.Header.Get("X-Amz-Date"))
	f.mu.Unlock()
	switch target {
	case targetPrefix + opDescribeTable:
		f.describe(w, body)
	case targetPrefix + opScan:
		f.scan(w, body)
	default:
		writeError(w, http.StatusBadRequest, "com.amazon.coral.service#UnknownOperationException", "")
	}
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	m := map[string]string{"__type": typ}
	if msg != "" {
		m["message"] = msg
	}
	json.NewEncoder(w).Encode(m)
}

func notFound(w http.ResponseWriter, name string) {
	writeError(w, http.StatusBadRequest, "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
		"Requested resource not found: Table: "+name+" not found")
}

func validation(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusBadRequest, "com.amazon.coral.validate#ValidationException", msg)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", contentType)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeDynamo) describe(w http.ResponseWriter, body []byte) {
	var in struct{ TableName string }
	if err := strictJSON(body, &in); err != nil {
		validation(w, err.Error())
		return
	}
	f.mu.Lock()
	tb := f.tables[in.TableName]
	f.mu.Unlock()
	if tb == nil {
		notFound(w, in.TableName)
		return
	}
	writeJSON(w, map[string]any{"Table": map[string]any{
		"TableName": tb.Name, "KeySchema": tb.KeySchema, "AttributeDefinitions": tb.AttrDefs,
		"TableStatus": "ACTIVE", "ItemCount": len(tb.Items), "CreationDateTime": 1.714734e9,
		"TableArn": "arn:aws:dynamodb:" + f.region + ":123456789012:table/" + tb.Name,
	}})
}

func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// itemKey is an item's primary key as comparable text.
func itemKey(tb *fakeTable, item map[string]json.RawMessage) string {
	k := compact(item[tb.key("HASH")])
	if r := tb.key("RANGE"); r != "" {
		k += "\x00" + compact(item[r])
	}
	return k
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func (f *fakeDynamo) scan(w http.ResponseWriter, body []byte) {
	var in struct {
		TableName         string
		Limit             *int
		Segment           *int
		TotalSegments     *int
		ConsistentRead    bool
		ExclusiveStartKey map[string]json.RawMessage
	}
	if err := strictJSON(body, &in); err != nil {
		validation(w, err.Error())
		return
	}
	seen := scanSeen{Table: in.TableName, Consistent: in.ConsistentRead, Total: 1}
	if in.Limit != nil {
		if *in.Limit < 1 {
			validation(w, "Limit must be at least 1")
			return
		}
		seen.Limit = *in.Limit
	}
	if (in.Segment == nil) != (in.TotalSegments == nil) {
		validation(w, "The Segment parameter is required but was not present in the request when parameter TotalSegments is present")
		return
	}
	if in.TotalSegments != nil {
		seen.Segment, seen.Total = *in.Segment, *in.TotalSegments
		if seen.Total < 1 || seen.Total > maxSegments || seen.Segment < 0 || seen.Segment >= seen.Total {
			validation(w, fmt.Sprintf("bad Segment %d of TotalSegments %d", seen.Segment, seen.Total))
			return
		}
	}
	if in.ExclusiveStartKey != nil {
		b, _ := json.Marshal(in.ExclusiveStartKey)
		seen.StartKey = string(b)
	}
	f.mu.Lock()
	f.scans = append(f.scans, seen)
	tb := f.tables[in.TableName]
	var items []map[string]json.RawMessage
	if tb != nil {
		items = slices.Clone(tb.Items)
	}
	pageCap := f.pageCap
	f.mu.Unlock()
	if tb == nil {
		notFound(w, in.TableName)
		return
	}
	hash := tb.key("HASH")
	var mine []map[string]json.RawMessage
	for _, it := range items {
		h := fnv.New32a()
		io.WriteString(h, compact(it[hash]))
		if int(h.Sum32()%uint32(seen.Total)) == seen.Segment {
			mine = append(mine, it)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return itemKey(tb, mine[i]) < itemKey(tb, mine[j]) })
	start := 0
	if in.ExclusiveStartKey != nil {
		k := itemKey(tb, in.ExclusiveStartKey)
		i := slices.IndexFunc(mine, func(it map[string]json.RawMessage) bool { return itemKey(tb, it) == k })
		if i < 0 {
			validation(w, "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment.")
			return
		}
		start = i + 1
	}
	n := pageCap
	if seen.Limit > 0 {
		n = seen.Limit
	}
	end := min(start+n, len(mine))
	page := append([]map[string]json.RawMessage{}, mine[start:end]...)
	out := map[string]any{"Items": page, "Count": len(page), "ScannedCount": len(page)}
	if len(page) == n { // a full page: DynamoDB does not look ahead
		last := page[len(page)-1]
		lek := map[string]json.RawMessage{hash: last[hash]}
		if r := tb.key("RANGE"); r != "" {
			lek[r] = last[r]
		}
		out["LastEvaluatedKey"] = lek
	}
	writeJSON(w, out)
}

// deleteItem removes an item by its partition key value (raw DynamoDB JSON) and sort key (or "").
func (f *fakeDynamo) deleteItem(table, hashRaw, rangeRaw string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tb := f.tables[table]
	k := compact(json.RawMessage(hashRaw))
	if rangeRaw != "" {
		k += "\x00" + compact(json.RawMessage(rangeRaw))
	}
	tb.Items = slices.DeleteFunc(slices.Clone(tb.Items), func(it map[string]json.RawMessage) bool { return itemKey(tb, it) == k })
}

// putItem adds or replaces an item, given in DynamoDB JSON.
func (f *fakeDynamo) putItem(table, itemJSON string) {
	var it map[string]json.RawMessage
	if err := json.Unmarshal([]byte(itemJSON), &it); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	tb := f.tables[table]
	k := itemKey(tb, it)
	items := slices.DeleteFunc(slices.Clone(tb.Items), func(x map[string]json.RawMessage) bool { return itemKey(tb, x) == k })
	tb.Items = append(items, it)
}

func (f *fakeDynamo) seenScans() []scanSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.scans)
}

// verifySigV4 checks a request's Signature Version 4 Authorization header as AWS does, written
// from the specification independently of the signer under test: credential scope, signed headers
// (host and x-amz-date at least, and the security token when sent), the date (15 minutes of skew,
// unless now is zero), and the signature over the canonical request with the body's hash.
func verifySigV4(r *http.Request, body []byte, secret, region, svc string, now time.Time) error {
	const algo = "AWS4-HMAC-SHA256"
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, algo+" ")
	if !ok {
		return errors.New("missing Authentication Token")
	}
	params := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[k] = v
	}
	cred := strings.Split(params["Credential"], "/")
	if len(cred) != 5 {
		return fmt.Errorf("Credential must have exactly 5 slash-delimited elements, got %q", params["Credential"])
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return fmt.Errorf("bad X-Amz-Date %q", amzDate)
	}
	switch {
	case cred[1] != amzDate[:8]:
		return fmt.Errorf("Date in Credential scope does not match X-Amz-Date")
	case cred[2] != region:
		return fmt.Errorf("Credential should be scoped to a valid region, not %q", cred[2])
	case cred[3] != svc:
		return fmt.Errorf("Credential should be scoped to correct service: %q", svc)
	case cred[4] != "aws4_request":
		return errors.New("Credential should be scoped with a valid terminator: 'aws4_request'")
	case !now.IsZero() && (t.Before(now.Add(-15*time.Minute)) || t.After(now.Add(15*time.Minute))):
		return fmt.Errorf("Signature expired: %s is too far from now", amzDate)
	}
	signed := strings.Split(params["SignedHeaders"], ";")
	if !slices.Contains(signed, "host") || !slices.Contains(signed, "x-amz-date") {
		return errors.New("'Host' and 'X-Amz-Date' must be SignedHeaders")
	}
	if r.Header.Get("X-Amz-Security-Token") != "" && !slices.Contains(signed, "x-amz-security-token") {
		return errors.New("X-Amz-Security-Token must be signed")
	}
	if !slices.IsSorted(signed) {
		return errors.New("SignedHeaders are not sorted")
	}
	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	canon.WriteString(cmp.Or(r.URL.EscapedPath(), "/") + "\n")
	canon.WriteString(canonicalQuery(r.URL.Query()) + "\n")
	for _, h := range signed {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = cmp.Or(r.Header.Get("Content-Length"), strconv.FormatInt(r.ContentLength, 10))
		default:
			vals := r.Header.Values(h)
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			v = strings.Join(vals, ",")
		}
		canon.WriteString(h + ":" + v + "\n")
	}
	sum := sha256.Sum256(body)
	canon.WriteString("\n" + params["SignedHeaders"] + "\n" + hex.EncodeToString(sum[:]))
	creq := sha256.Sum256([]byte(canon.String()))
	scope := strings.Join(cred[1:], "/")
	toSign := algo + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(creq[:])
	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	key := mac(mac(mac(mac([]byte("AWS4"+secret), cred[1]), cred[2]), cred[3]), "aws4_request")
	want := hex.EncodeToString(mac(key, toSign))
	if !hmac.Equal([]byte(want), []byte(params["Signature"])) {
		return errors.New("The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

func canonicalQuery(q url.Values) string {
	var parts []string
	for k, vs := range q {
		for _, v := range vs {
			parts = append(parts, awsEscape(k)+"="+awsEscape(v))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "&")
}

func awsEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
