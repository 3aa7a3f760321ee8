package dynamodb

// This file holds the wire details: the JSON protocol's operations and headers, the request bodies,
// the DescribeTable answer, the error shape (__type and message), which errors are throttling and
// which mesh sentinel each error type stands for.

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

const (
	// service is the SigV4 signing name of DynamoDB.
	service = "dynamodb"
	// targetPrefix names the API version in X-Amz-Target: "DynamoDB_20120810.Scan".
	targetPrefix = "DynamoDB_20120810."
	// contentType is the JSON protocol's media type, sent and accepted.
	contentType = "application/x-amz-json-1.0"

	opDescribeTable = "DescribeTable"
	opScan          = "Scan"

	// The answers, read with gjson.
	itemsPath     = "Items"
	lastKeyPath   = "LastEvaluatedKey"
	keySchemaPath = "Table.KeySchema"

	// maxSegments is DynamoDB's largest TotalSegments.
	maxSegments = 1_000_000
)

// apiRequest is the POST of one operation. Both operations used here only read, so the request is
// marked idempotent: mesh/fetch retries it.
func apiRequest(op string, body []byte) *fetch.Request {
	return &fetch.Request{
		Method: http.MethodPost,
		URL:    "/",
		Header: http.Header{
			"Content-Type": {contentType},
			"Accept":       {contentType},
			"X-Amz-Target": {targetPrefix + op},
		},
		Body:       body,
		Idempotent: true,
	}
}

// describeBody is DescribeTable's input.
func describeBody(table string) []byte {
	b := append([]byte(`{"TableName":`), mesh.AppendString(nil, table)...)
	return append(b, '}')
}

// scanInput is one Scan request.
type scanInput struct {
	table          string
	segment, total int    // total <= 1: no parallel scan parameters
	limit          int    // 0: DynamoDB's 1 MB pages
	consistentRead bool   //
	startKey       string // LastEvaluatedKey of the previous page, raw JSON; "" on the first page
}

// body is the Scan input in DynamoDB JSON, written by hand: the start key is passed on byte for byte.
func (s scanInput) body() []byte {
	b := make([]byte, 0, 96+len(s.table)+len(s.startKey))
	b = append(b, `{"TableName":`...)
	b = mesh.AppendString(b, s.table)
	if s.total > 1 {
		b = append(b, `,"Segment":`...)
		b = strconv.AppendInt(b, int64(s.segment), 10)
		b = append(b, `,"TotalSegments":`...)
		b = strconv.AppendInt(b, int64(s.total), 10)
	}
	if s.limit > 0 {
		b = append(b, `,"Limit":`...)
		b = strconv.AppendInt(b, int64(s.limit), 10)
	}
	if s.consistentRead {
		b = append(b, `,"ConsistentRead":true`...)
	}
	if s.startKey != "" {
		b = append(b, `,"ExclusiveStartKey":`...)
		b = append(b, s.startKey...)
	}
	return append(b, '}')
}

// nextKey reads a Scan page's LastEvaluatedKey: "" when absent, null or empty (the segment is done).
func nextKey(r *fetch.Response) (string, error) {
	k := r.Get(lastKeyPath)
	switch {
	case !k.Exists() || k.Type == gjson.Null:
		return "", nil
	case !k.IsObject():
		return "", fmt.Errorf("%w: %s is not an object", mesh.ErrBadResponse, lastKeyPath)
	}
	empty := true
	k.ForEach(func(_, _ gjson.Result) bool { empty = false; return false })
	if empty {
		return "", nil
	}
	return strings.Clone(k.Raw), nil
}

// keySchema is a table's primary key: the partition (HASH) key and, for a composite key, the sort
// (RANGE) key.
type keySchema struct {
	hash, rng string
}

// parseKeySchema reads Table.KeySchema from a DescribeTable answer.
func parseKeySchema(body []byte) (keySchema, error) {
	var ks keySchema
	list := gjson.GetBytes(body, keySchemaPath)
	if !list.IsArray() {
		return ks, fmt.Errorf("%w: DescribeTable answer has no %s", mesh.ErrBadResponse, keySchemaPath)
	}
	var err error
	list.ForEach(func(_, e gjson.Result) bool {
		name, typ := e.Get("AttributeName"), e.Get("KeyType").String()
		if name.Type != gjson.String || name.Str == "" {
			err = fmt.Errorf("%w: %s element without AttributeName", mesh.ErrBadResponse, keySchemaPath)
			return false
		}
		switch {
		case typ == "HASH" && ks.hash == "":
			ks.hash = strings.Clone(name.Str)
		case typ == "RANGE" && ks.rng == "":
			ks.rng = strings.Clone(name.Str)
		default:
			err = fmt.Errorf("%w: %s has an unexpected or repeated KeyType %q", mesh.ErrBadResponse, keySchemaPath, typ)
			return false
		}
		return true
	})
	if err == nil && ks.hash == "" {
		err = fmt.Errorf("%w: %s has no HASH key", mesh.ErrBadResponse, keySchemaPath)
	}
	return ks, err
}

// errorType reads DynamoDB's error body, {"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
// "message":"..."}: the type is the part after '#'. Some errors spell the member "Message". The body
// may be cut at fetch.ErrorBodyBytes, so it is not validated first: gjson finds what comes before the
// cut.
func errorType(body []byte) (typ, msg string) {
	typ = gjson.GetBytes(body, "__type").String()
	if i := strings.LastIndexByte(typ, '#'); i >= 0 {
		typ = typ[i+1:]
	}
	msg = gjson.GetBytes(body, "message").String()
	if msg == "" {
		msg = gjson.GetBytes(body, "Message").String()
	}
	return typ, msg
}

// errorMessage is the fetch.Config.ErrorMessage of DynamoDB: "<type>: <message>", on one line.
func errorMessage(status int, body []byte) string {
	typ, msg := errorType(body)
	if typ == "" {
		// DynamoDB answers a request outside its protocol (wrong path, method or Content-Type) with
		// 404 and <UnknownOperationException/>.
		if b := bytes.TrimSpace(body); bytes.HasPrefix(b, []byte("<")) && bytes.HasSuffix(b, []byte("/>")) &&
			len(b) < 100 && !bytes.ContainsAny(b, " \t\n") {
			return string(b[1 : len(b)-2])
		}
		return fetch.DefaultErrorMessage(status, body)
	}
	if msg == "" {
		return typ
	}
	// InvalidSignatureException explains itself over several lines (the canonical request it expected);
	// the first is the message.
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	const maxRunes = 300
	if r := []rune(msg); len(r) > maxRunes {
		msg = string(r[:maxRunes]) + "..."
	}
	return typ + ": " + msg
}

// throttlingTypes are the error types DynamoDB answers, with status 400, when a request exceeds the
// table's or the account's throughput: they are retried with backoff like a 429.
var throttlingTypes = []string{
	"ProvisionedThroughputExceededException", // a provisioned table's (or index's) capacity
	"ThrottlingException",                    // control plane (DescribeTable) and on-demand limits
	"RequestLimitExceeded",                   // the account's on-demand throughput quota
}

// throttledError is the fetch.Config.ThrottledError of DynamoDB: DynamoDB sends no Retry-After, so
// the wait is mesh/fetch's exponential backoff with jitter.
func throttledError(status int, body []byte) (time.Duration, bool) {
	if status < 400 || status >= 500 {
		return 0, false
	}
	typ, _ := errorType(body)
	for _, t := range throttlingTypes {
		if typ == t {
			return 0, true
		}
	}
	return 0, false
}

// sentinelFor maps an error type to the mesh sentinel callers branch on, with a hint for the user.
func sentinelFor(typ string) (sentinel error, hint string) {
	switch typ {
	case "ResourceNotFoundException":
		return mesh.ErrNotFound, "check the table name, the region and the endpoint"
	case "UnrecognizedClientException", "InvalidSignatureException", "MissingAuthenticationTokenException",
		"IncompleteSignatureException", "ExpiredTokenException", "InvalidClientTokenId":
		return mesh.ErrUnauthorized, "check accessKeyId, secretAccessKey, sessionToken, the region and the clock"
	case "AccessDeniedException":
		return mesh.ErrForbidden, "the credentials need dynamodb:DescribeTable and dynamodb:Scan on the table"
	}
	return nil, ""
}

// Error is an error answer of DynamoDB that callers branch on: a missing table
// (ResourceNotFoundException, errors.Is mesh.ErrNotFound), rejected credentials
// (UnrecognizedClientException, InvalidSignatureException, ... : mesh.ErrUnauthorized) or a missing
// permission (AccessDeniedException: mesh.ErrForbidden). errors.As also finds the *fetch.StatusError
// with the status, the redacted URL and the provider's message.
type Error struct {
	// Op is the operation: "DescribeTable" or "Scan".
	Op string
	// Table is the table's name as configured.
	Table string
	// Type is the error type, the part of __type after '#': "ResourceNotFoundException".
	Type string
	// Err is the answer: a *fetch.StatusError.
	Err error

	sentinel error
	hint     string
}

// Error returns e.g. `DescribeTable table "posts": POST https://dynamodb.eu-west-1.amazonaws.com/: 400
// Bad Request: ResourceNotFoundException: Requested resource not found (check the table name, the
// region and the endpoint)`.
func (e *Error) Error() string {
	s := fmt.Sprintf("%s table %q: %v", e.Op, e.Table, e.Err)
	if e.hint != "" {
		s += " (" + e.hint + ")"
	}
	return s
}

// Unwrap returns the mesh sentinel and the answer's error.
func (e *Error) Unwrap() []error {
	if e.sentinel == nil {
		return []error{e.Err}
	}
	return []error{e.sentinel, e.Err}
}

// opError names the operation and the table in err, and turns the error types callers branch on into
// an *Error.
func opError(op, table string, err error) error {
	var se *fetch.StatusError
	if errors.As(err, &se) {
		typ, _ := errorType(se.Body)
		if sentinel, hint := sentinelFor(typ); sentinel != nil {
			return &Error{Op: op, Table: table, Type: typ, Err: err, sentinel: sentinel, hint: hint}
		}
	}
	return fmt.Errorf("%s table %q: %w", op, table, err)
}
