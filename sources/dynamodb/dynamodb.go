// Package dynamodb is a mesh.Source for Amazon DynamoDB tables (and DynamoDB-compatible servers): each
// configured table is scanned in parallel segments, its items become nodes whose IDs come from the
// table's key schema, attribute values become plain JSON, and the attributes configured as references
// become {"$ref": id}, so backrefs work across tables and sources.
//
// # Configuration
//
//	sources:
//	  - name: app
//	    type: dynamodb
//	    region: eu-west-1                          # required
//	    accessKeyId: ${AWS_ACCESS_KEY_ID}          # required
//	    secretAccessKey: ${AWS_SECRET_ACCESS_KEY}  # required
//	    sessionToken: ${AWS_SESSION_TOKEN}         # optional: temporary credentials (STS, SSO, a Lambda's role)
//	    endpoint: http://127.0.0.1:4567            # optional (alias: baseURL): a DynamoDB-compatible server
//	    segments: 4                                # parallel scan segments per table (TotalSegments), 1..1000000
//	    pageSize: 0                                # Scan Limit; 0: DynamoDB's 1 MB pages
//	    consistentRead: false                      # strongly consistent reads (twice the read capacity)
//	    raw: false                                 # keep each item in DynamoDB JSON under fields._raw
//	    tables:
//	      - name: posts                            # required: the table name (or its ARN)
//	        nodeType: Post                         # default: the table name in PascalCase
//	        namespace: post                        # default: the table name; the middle part of node IDs
//	        refs:                                  # attribute -> "<namespace>" or "<source>/<namespace>"
//	          authorId: author                     #   a node of this source
//	          productIds: shop/Product             #   nodes of the source named "shop"
//	        updatedAt: modified                    # optional: the attribute holding the change time
//	        idFormat: "{slug}"                     # optional: the native ID from attributes, see Mapping
//	      - name: authors
//	        namespace: author
//	    timeout: 30s                               # and the other mesh/fetch options: retries,
//	    concurrency: 8                             # concurrency, requestsPerSecond, maxRetryAfter, ...
//
// The endpoint defaults to https://dynamodb.<region>.amazonaws.com (.amazonaws.com.cn for cn-
// regions). The requests are POSTs of DynamoDB's JSON protocol (Content-Type
// application/x-amz-json-1.0, X-Amz-Target DynamoDB_20120810.<operation>): DescribeTable once per
// table and build, then a parallel Scan of each table. Each segment is a chain of pages
// (LastEvaluatedKey sent back as ExclusiveStartKey), the next page requested while the current one
// is mapped; the segments of all tables run concurrently, at most concurrency requests at once.
//
// # Authentication
//
// Every attempt is signed with AWS Signature Version 4 (service dynamodb, the configured region),
// with the official signer of the AWS SDK for Go v2, at the time of the attempt: a retry an hour later
// is signed again. Take the credentials from the environment with ${AWS_ACCESS_KEY_ID},
// ${AWS_SECRET_ACCESS_KEY} and ${AWS_SESSION_TOKEN}: the configuration does not read the environment
// itself, and it has no profiles, SSO or instance-role lookup (export the values, e.g. with
// `aws configure export-credentials --format env`). The secret key never leaves the signer; the
// session token travels in X-Amz-Security-Token. Neither appears in errors, logs or outputs.
// The credentials need dynamodb:DescribeTable and dynamodb:Scan on each table.
//
// # Rate limits
//
// DynamoDB answers 400 with ProvisionedThroughputExceededException (a provisioned table's
// capacity), ThrottlingException or RequestLimitExceeded (the account's limits) when a source reads
// too fast, with no Retry-After. mesh/fetch retries those answers like a 429 (fetch.Config.ThrottledError):
// exponential backoff with jitter between retryWaitMin and retryWaitMax, and the source's
// concurrency halves, growing back as requests succeed. 5xx answers (InternalServerError,
// ServiceUnavailable) are retried too. A parallel scan of a provisioned table can use all its read
// capacity: lower segments, concurrency or requestsPerSecond to leave room for the application.
// Scan pages are at most 1 MB; pageSize makes them smaller (more requests), never larger.
//
// # Mapping
//
// DescribeTable gives the key schema. The native ID of an item is its partition (HASH) key value, or
// "<partition>#<sort>" for a table with a sort (RANGE) key, where '%' and '#' inside each value are
// written %25 and %23 so the split is unambiguous (a key "a#b" with sort key "1" is "a%23b#1").
// Key values are strings, numbers (the digits DynamoDB sent) and binary values (their base64 text).
// idFormat replaces that with a template of {attribute} placeholders, filled with those attributes'
// values as they are ("{slug}", "{tenant}:{slug}"); the IDs it makes must be unique in the table
// (the engine rejects duplicates). Node IDs are mesh.NodeID(source, namespace, nativeId); the type
// is nodeType.
//
// Fields are the item's attributes, every one (key attributes included), with DynamoDB's typed values
// turned into plain JSON:
//
//	S     string                 a JSON string
//	N     number                 a JSON number with the digits DynamoDB sent (never through a float64;
//	                             a leading '+' or zeros, or a bare ".5", are made valid JSON)
//	B     binary                 its base64 string
//	BOOL  boolean                true or false
//	NULL  null                   null
//	M     map                    an object, recursively
//	L     list                   an array, recursively, in order
//	SS    string set             an array of strings, sorted by their bytes
//	NS    number set             an array of numbers, sorted by value
//	BS    binary set             an array of base64 strings, sorted by their text
//
// An attribute listed in refs becomes {"$ref": mesh.NodeID(source, namespace, value)} for a string,
// number or binary value (an empty string or NULL: null), and an array of them for a set (sorted as
// above) or a list. Its value is the target's native ID: for a table with a sort key, "<partition>#<sort>"
// as above, or whatever the target's idFormat makes. A ref attribute holding a map or a boolean is an
// error naming the table, the item and the attribute.
//
// updatedAt names an attribute holding the change time: a string in RFC 3339 (or ISO 8601, a date)
// or a number of Unix seconds (milliseconds when it is above 1e11). It sets the node's updatedAt;
// an unreadable value leaves it empty, with one warning per table in the log.
//
// With raw: true, fields._raw holds the item in DynamoDB JSON, as received.
//
// # Incremental sync
//
// None: every build scans every table. Scan has no change feed, and DynamoDB Streams (the change
// log) is another API that keeps 24 hours of changes per shard; a build that must not rescan needs an
// updatedAt index and a Query per partition, which tables do not generally have. The result is the
// full set, so items deleted upstream disappear from the graph.
package dynamodb

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
)

// Kind is the adapter's name, the config's `type: dynamodb`.
const Kind = "dynamodb"

// DefaultSegments is the parallel scan's TotalSegments when Config.Segments is 0.
const DefaultSegments = 4

// maxDepth bounds the nesting of M and L values (DynamoDB allows 32 levels).
const maxDepth = 64

// Config configures a DynamoDB source. Its yaml keys are part of the configuration contract.
type Config struct {
	// Tables are the tables to read, at least one.
	Tables []Table `yaml:"tables"`
	// Region is the AWS region of the tables, e.g. "eu-west-1"; it is part of the signature. Required,
	// also for a DynamoDB-compatible server (any region it accepts).
	Region string `yaml:"region"`
	// Endpoint receives the requests instead of https://dynamodb.<region>.amazonaws.com: a
	// DynamoDB-compatible server, a VPC endpoint or a proxy. BaseURL is its alias; set one of them.
	Endpoint string `yaml:"endpoint,omitempty"`
	// BaseURL is Endpoint under the name every adapter's config has.
	BaseURL string `yaml:"baseURL,omitempty"`
	// AccessKeyID and SecretAccessKey are the AWS credentials; SessionToken goes with temporary ones.
	// Use ${AWS_ACCESS_KEY_ID}, ${AWS_SECRET_ACCESS_KEY} and ${AWS_SESSION_TOKEN} in the YAML.
	AccessKeyID     string `yaml:"accessKeyId"`
	SecretAccessKey string `yaml:"secretAccessKey"`
	SessionToken    string `yaml:"sessionToken,omitempty"`
	// Segments is the number of segments each table is scanned in, concurrently (TotalSegments of a
	// parallel scan); 0 means DefaultSegments.
	Segments int `yaml:"segments,omitempty"`
	// PageSize is Scan's Limit, the most items a page holds; 0 means no limit (pages of at most 1 MB).
	// FetchRequest.PageSize, when positive, replaces it.
	PageSize int `yaml:"pageSize,omitempty"`
	// ConsistentRead asks for strongly consistent reads, at twice the read capacity.
	ConsistentRead bool `yaml:"consistentRead,omitempty"`
	// Raw keeps each item, in DynamoDB JSON, under fields._raw.
	Raw bool `yaml:"raw,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// Table configures one table.
type Table struct {
	// Name is the table's name, or its ARN (arn:aws:dynamodb:<region>:<account>:table/<name>). Required.
	Name string `yaml:"name"`
	// NodeType is the type of the table's nodes; empty: the table name in PascalCase.
	NodeType string `yaml:"nodeType,omitempty"`
	// Namespace is the middle part of the node IDs; empty: the table name. Unique among the tables.
	Namespace string `yaml:"namespace,omitempty"`
	// Refs maps an attribute to the namespace its values point into: "<namespace>" for this source,
	// "<source>/<namespace>" for another source's nodes.
	Refs map[string]string `yaml:"refs,omitempty"`
	// UpdatedAt names the attribute holding the item's change time (a timestamp string or Unix time).
	UpdatedAt string `yaml:"updatedAt,omitempty"`
	// IDFormat, when set, makes the native ID from attribute values: "{slug}", "{tenant}:{slug}".
	// Empty: the key schema's "<partition>" or "<partition>#<sort>".
	IDFormat string `yaml:"idFormat,omitempty"`
}

// String describes the configuration without its secrets.
func (c Config) String() string {
	names := make([]string, len(c.Tables))
	for i, t := range c.Tables {
		names[i] = t.Name
	}
	s := fmt.Sprintf("dynamodb region=%s tables=%s", c.Region, strings.Join(names, ","))
	if e := cmp.Or(c.Endpoint, c.BaseURL); e != "" {
		s += " endpoint=" + fetch.RedactURLString(e, nil)
	}
	if c.AccessKeyID != "" || c.SecretAccessKey != "" || c.SessionToken != "" {
		s += " credentials=" + fetch.Redacted
	}
	return s
}

// GoString is String, so that %#v does not print the secrets either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the secrets.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads DynamoDB tables. It is safe for concurrent use.
type Source struct {
	cfg      Config
	client   *fetch.Client
	tables   []*table
	segments int
}

var (
	_ mesh.Source  = (*Source)(nil)
	_ mesh.Checker = (*Source)(nil)
)

// table is a validated Table.
type table struct {
	name      string // as configured: a name or an ARN
	nodeType  string
	namespace string
	refs      map[string]refTarget
	updatedAt string
	idFormat  []idPart // nil: the key schema
}

// refTarget is where a ref attribute's values point: source "" is the source being fetched.
type refTarget struct {
	source, namespace string
}

// idPart is a literal or an {attribute} placeholder of an idFormat.
type idPart struct {
	lit, attr string
}

var (
	tableNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)
	tableARNRE  = regexp.MustCompile(`^arn:[a-z0-9-]+:dynamodb:[a-z0-9-]+:[0-9]{12}:table/([a-zA-Z0-9_.-]{3,255})$`)
	regionRE    = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

// New validates cfg and returns a Source. It does no I/O. Errors wrap mesh.ErrInvalidConfig and name
// the key.
func New(cfg Config) (*Source, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("dynamodb: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case cfg.Region == "":
		return nil, bad("region", "required: the tables' AWS region, e.g. eu-west-1")
	case len(cfg.Region) > 64 || !regionRE.MatchString(cfg.Region):
		return nil, bad("region", "%q is not a region name such as eu-west-1", cfg.Region)
	case cfg.AccessKeyID == "":
		return nil, bad("accessKeyId", "required: use ${AWS_ACCESS_KEY_ID}")
	case strings.ContainsAny(cfg.AccessKeyID, " \t\r\n/,="):
		return nil, bad("accessKeyId", "has spaces or delimiters: paste the access key ID alone")
	case cfg.SecretAccessKey == "":
		return nil, bad("secretAccessKey", "required: use ${AWS_SECRET_ACCESS_KEY}")
	case strings.ContainsAny(cfg.SecretAccessKey, " \t\r\n"):
		return nil, bad("secretAccessKey", "has spaces or line breaks: paste the secret access key alone")
	case strings.ContainsAny(cfg.SessionToken, " \t\r\n"):
		return nil, bad("sessionToken", "has spaces or line breaks: paste the session token alone")
	case cfg.Segments < 0 || cfg.Segments > maxSegments:
		return nil, bad("segments", "want 1 to %d segments (0: %d), got %d", maxSegments, DefaultSegments, cfg.Segments)
	case cfg.PageSize < 0:
		return nil, bad("pageSize", "must not be negative (0: pages of 1 MB), got %d", cfg.PageSize)
	case len(cfg.Tables) == 0:
		return nil, bad("tables", "list at least one table: tables: [{name: posts}]")
	}

	endpoint := cfg.Endpoint
	switch {
	case cfg.Endpoint != "" && cfg.BaseURL != "" && strings.TrimSuffix(cfg.Endpoint, "/") != strings.TrimSuffix(cfg.BaseURL, "/"):
		return nil, bad("endpoint", "endpoint and baseURL are the same setting: set one")
	case endpoint == "":
		endpoint = cfg.BaseURL
	}
	key := "endpoint"
	if cfg.Endpoint == "" {
		key = "baseURL"
	}
	if endpoint == "" {
		endpoint = "https://dynamodb." + cfg.Region + ".amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			endpoint += ".cn"
		}
	} else {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, bad(key, "want an http or https URL such as http://127.0.0.1:4567")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, bad(key, "want the server's URL without a query or fragment")
		}
		endpoint = strings.TrimSuffix(endpoint, "/")
	}

	tables, err := validateTables(cfg.Tables)
	if err != nil {
		return nil, err
	}
	sig := newSigner(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken, cfg.Region)
	client, err := fetch.New(fetch.Config{
		Source:         Kind,
		BaseURL:        endpoint,
		Auth:           sig.sign,
		ErrorMessage:   errorMessage,
		ThrottledError: throttledError,
	}, cfg.Options)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: %w", err)
	}
	return &Source{cfg: cfg, client: client, tables: tables, segments: cmp.Or(cfg.Segments, DefaultSegments)}, nil
}

// validateTables checks the tables' keys and resolves their defaults.
func validateTables(ts []Table) ([]*table, error) {
	bad := func(i int, key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("dynamodb: key %q", fmt.Sprintf("tables[%d].%s", i, key)), Msg: fmt.Sprintf(format, args...)}
	}
	var out []*table
	seenName, seenNS := map[string]int{}, map[string]int{}
	for i, tc := range ts {
		short := tc.Name
		if m := tableARNRE.FindStringSubmatch(tc.Name); m != nil {
			short = m[1]
		} else if !tableNameRE.MatchString(tc.Name) {
			if tc.Name == "" {
				return nil, bad(i, "name", "required: the table's name")
			}
			return nil, bad(i, "name", "%q is not a table name (3 to 255 of a-z A-Z 0-9 _ . -) or a table ARN", tc.Name)
		}
		if j, ok := seenName[tc.Name]; ok {
			return nil, bad(i, "name", "table %q is listed twice (tables[%d])", tc.Name, j)
		}
		seenName[tc.Name] = i
		t := &table{
			name:      tc.Name,
			nodeType:  cmp.Or(tc.NodeType, normalize.TypeName(short)),
			namespace: cmp.Or(tc.Namespace, short),
			updatedAt: tc.UpdatedAt,
		}
		if t.nodeType == "" {
			return nil, bad(i, "nodeType", "required: table name %q has no letters or digits to make a type from", tc.Name)
		}
		if strings.Contains(t.namespace, "/") {
			return nil, bad(i, "namespace", "%q must not contain '/' (refs write <source>/<namespace>)", t.namespace)
		}
		if j, ok := seenNS[t.namespace]; ok {
			return nil, bad(i, "namespace", "namespace %q is also tables[%d]'s: node IDs would collide; set namespace", t.namespace, j)
		}
		seenNS[t.namespace] = i
		if len(tc.Refs) > 0 {
			t.refs = make(map[string]refTarget, len(tc.Refs))
		}
		for attr, target := range tc.Refs {
			if attr == "" {
				return nil, bad(i, "refs", "an empty attribute name")
			}
			parts := strings.Split(target, "/")
			switch {
			case len(parts) == 1 && parts[0] != "":
				t.refs[attr] = refTarget{namespace: parts[0]}
			case len(parts) == 2 && parts[0] != "" && parts[1] != "":
				t.refs[attr] = refTarget{source: parts[0], namespace: parts[1]}
			default:
				return nil, bad(i, "refs."+attr, "want \"<namespace>\" or \"<source>/<namespace>\", got %q", target)
			}
		}
		if tc.IDFormat != "" {
			parts, err := parseIDFormat(tc.IDFormat)
			if err != nil {
				return nil, bad(i, "idFormat", "%v", err)
			}
			t.idFormat = parts
		}
		out = append(out, t)
	}
	return out, nil
}

// parseIDFormat splits "{tenant}:{slug}" into literals and placeholders.
func parseIDFormat(s string) ([]idPart, error) {
	var parts []idPart
	attrs := 0
	for s != "" {
		open := strings.IndexAny(s, "{}")
		if open < 0 {
			parts = append(parts, idPart{lit: s})
			break
		}
		if s[open] == '}' {
			return nil, fmt.Errorf("unmatched '}' in %q", s)
		}
		if open > 0 {
			parts = append(parts, idPart{lit: s[:open]})
		}
		end := strings.IndexAny(s[open+1:], "{}")
		if end < 0 || s[open+1+end] == '{' {
			return nil, fmt.Errorf("unclosed '{' in %q", s)
		}
		name := s[open+1 : open+1+end]
		if name == "" {
			return nil, fmt.Errorf("empty placeholder {} in %q", s)
		}
		parts = append(parts, idPart{attr: name})
		attrs++
		s = s[open+2+end:]
	}
	if attrs == 0 {
		return nil, fmt.Errorf("no {attribute} placeholder: every item would get the same ID")
	}
	return parts, nil
}

// Kind returns "dynamodb".
func (s *Source) Kind() string { return Kind }

// Close closes the client's idle connections.
func (s *Source) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// Check describes every table: it verifies the credentials, the region and that the tables exist.
func (s *Source) Check(ctx context.Context) error {
	_, err := s.describeAll(ctx)
	return err
}

// Fetch describes the tables, then scans every segment of every table concurrently (at most
// concurrency at once) and emits each item as a node. It returns the full set.
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	keys, err := s.describeAll(ctx)
	if err != nil {
		return mesh.FetchResult{}, err
	}
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	limit := s.cfg.PageSize
	if req.PageSize > 0 {
		limit = req.PageSize
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.client.Options().Concurrency)
schedule:
	for i, t := range s.tables {
		m := &mapper{source: req.Source, t: t, key: keys[i], raw: s.cfg.Raw, log: log}
		for seg := range s.segments {
			if gctx.Err() != nil {
				break schedule
			}
			in := scanInput{table: t.name, segment: seg, total: s.segments, limit: limit, consistentRead: s.cfg.ConsistentRead}
			g.Go(func() error { return s.scan(gctx, m, in, out) })
		}
	}
	if err := g.Wait(); err != nil {
		return mesh.FetchResult{}, err
	}
	return mesh.FetchResult{}, nil
}

// describeAll describes every table concurrently and returns their key schemas, in table order.
func (s *Source) describeAll(ctx context.Context) ([]keySchema, error) {
	keys := make([]keySchema, len(s.tables))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.client.Options().Concurrency)
	for i, t := range s.tables {
		g.Go(func() error {
			resp, err := s.client.DoJSON(gctx, apiRequest(opDescribeTable, describeBody(t.name)))
			if err != nil {
				return opError(opDescribeTable, t.name, err)
			}
			if keys[i], err = parseKeySchema(resp.Body); err != nil {
				return fmt.Errorf("%s table %q: %s: %w", opDescribeTable, t.name, resp.URL, err)
			}
			return nil
		})
	}
	return keys, g.Wait()
}

// scan reads one segment of a table, page after page (LastEvaluatedKey to ExclusiveStartKey).
func (s *Source) scan(ctx context.Context, m *mapper, in scanInput, out mesh.Emitter) error {
	err := s.client.Cursor(ctx, fetch.CursorPages{
		Request: func(cursor string) *fetch.Request {
			in := in
			in.startKey = cursor
			return apiRequest(opScan, in.body())
		},
		Next:     nextKey,
		Prefetch: true, // the next page's request depends only on LastEvaluatedKey
	}, func(_ int, r *fetch.Response) error {
		if err := m.emitPage(r.Body, out); err != nil {
			return fmt.Errorf("%s: %w", r.URL, err)
		}
		return nil
	})
	if err != nil {
		op := opScan
		if in.total > 1 {
			op = fmt.Sprintf("%s segment %d/%d of", opScan, in.segment, in.total)
		}
		return opError(op, in.table, err)
	}
	return nil
}

// mapper turns the items of one table into nodes.
type mapper struct {
	source string // the instance name, first part of the node IDs
	t      *table
	key    keySchema
	raw    bool
	log    *slog.Logger

	warnOnce sync.Once // an unreadable updatedAt
}

// emitPage emits the nodes of a Scan page (a body already checked to be JSON). It stops at the first
// error; the Emitter's errors are returned unchanged.
func (m *mapper) emitPage(body []byte, out mesh.Emitter) error {
	return m.decodeItems(body, out.Upsert)
}

// decodeItems maps every element of the page's Items array and hands the nodes to emit. body must
// be valid JSON.
func (m *mapper) decodeItems(body []byte, emit func(mesh.Node) error) error {
	items := gjson.GetBytes(body, itemsPath)
	if !items.IsArray() {
		return fmt.Errorf("%w: the Scan answer has no %s array", mesh.ErrBadResponse, itemsPath)
	}
	var (
		err     error
		scratch []byte
		i       int
	)
	items.ForEach(func(_, item gjson.Result) bool {
		var n mesh.Node
		n, scratch, err = m.node(item, scratch[:0])
		if err != nil {
			err = fmt.Errorf("table %q, item %d of the page: %w", m.t.name, i, err)
			return false
		}
		i++
		if err = emit(n); err != nil {
			return false
		}
		return true
	})
	return err
}

// node maps one item. scratch is a reusable buffer, returned grown.
func (m *mapper) node(item gjson.Result, scratch []byte) (mesh.Node, []byte, error) {
	if !item.IsObject() {
		return mesh.Node{}, scratch, fmt.Errorf("%w: an item is not an object", mesh.ErrBadResponse)
	}
	wanted := m.wanted()
	vals := make([]gjson.Result, len(wanted))
	fields := make([]byte, 0, len(item.Raw))
	fields = append(fields, '{')
	var err error
	item.ForEach(func(k, v gjson.Result) bool {
		name := k.String()
		for i, w := range wanted {
			if w == name {
				vals[i] = v
			}
		}
		if len(fields) > 1 {
			fields = append(fields, ',')
		}
		fields = mesh.AppendString(fields, name)
		fields = append(fields, ':')
		scratch = scratch[:0]
		if target, ok := m.t.refs[name]; ok {
			scratch, err = m.appendRef(scratch, target, v)
		} else {
			scratch, err = appendValue(scratch, v, 0)
		}
		if err != nil {
			err = fmt.Errorf("attribute %q: %w", name, err)
			return false
		}
		fields = append(fields, scratch...)
		return true
	})
	if err != nil {
		return mesh.Node{}, scratch, m.withKey(err, wanted, vals)
	}
	if m.raw {
		if len(fields) > 1 {
			fields = append(fields, ',')
		}
		fields = append(fields, `"_raw":`...)
		fields = append(fields, item.Raw...)
	}
	fields = append(fields, '}')

	nativeID, err := m.nativeID(wanted, vals)
	if err != nil {
		return mesh.Node{}, scratch, err
	}
	n := mesh.Node{
		ID:       mesh.NodeID(m.source, m.t.namespace, nativeID),
		Type:     m.t.nodeType,
		NativeID: nativeID,
		Fields:   fields,
	}
	if m.t.updatedAt != "" {
		n.UpdatedAt = m.updatedAt(lookup(wanted, vals, m.t.updatedAt))
	}
	return n, scratch, nil
}

// wanted lists the attributes whose values the ID and updatedAt need.
func (m *mapper) wanted() []string {
	var w []string
	if m.t.idFormat != nil {
		for _, p := range m.t.idFormat {
			if p.attr != "" {
				w = append(w, p.attr)
			}
		}
	} else {
		w = append(w, m.key.hash)
		if m.key.rng != "" {
			w = append(w, m.key.rng)
		}
	}
	if m.t.updatedAt != "" {
		w = append(w, m.t.updatedAt)
	}
	return w
}

func lookup(names []string, vals []gjson.Result, name string) gjson.Result {
	if i := slices.Index(names, name); i >= 0 {
		return vals[i]
	}
	return gjson.Result{}
}

// withKey adds the item's native ID to an error, when it can be read.
func (m *mapper) withKey(err error, wanted []string, vals []gjson.Result) error {
	if id, e := m.nativeID(wanted, vals); e == nil {
		return fmt.Errorf("key %q: %w", id, err)
	}
	return err
}

// nativeID is the key schema's "<partition>[#<sort>]", or the idFormat filled in.
func (m *mapper) nativeID(wanted []string, vals []gjson.Result) (string, error) {
	if m.t.idFormat == nil {
		h, err := keyString(lookup(wanted, vals, m.key.hash), m.key.hash)
		if err != nil || m.key.rng == "" {
			return h, err
		}
		r, err := keyString(lookup(wanted, vals, m.key.rng), m.key.rng)
		if err != nil {
			return "", err
		}
		return escapeKeyPart(h) + "#" + escapeKeyPart(r), nil
	}
	var b strings.Builder
	for _, p := range m.t.idFormat {
		if p.attr == "" {
			b.WriteString(p.lit)
			continue
		}
		v, err := keyString(lookup(wanted, vals, p.attr), p.attr)
		if err != nil {
			return "", fmt.Errorf("idFormat: %w", err)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// keyString reads a key attribute (or an idFormat attribute): a non-empty S, N or B value.
func keyString(v gjson.Result, name string) (string, error) {
	if !v.Exists() {
		return "", fmt.Errorf("%w: the item has no attribute %q", mesh.ErrBadResponse, name)
	}
	typ, val, err := descriptor(v)
	if err != nil {
		return "", fmt.Errorf("attribute %q: %w", name, err)
	}
	switch typ {
	case "S", "N", "B":
		if val.Type != gjson.String {
			return "", fmt.Errorf("%w: attribute %q: %s value is not a string", mesh.ErrBadResponse, name, typ)
		}
		if val.Str == "" {
			return "", fmt.Errorf("%w: attribute %q is empty", mesh.ErrBadResponse, name)
		}
		return strings.Clone(val.Str), nil
	}
	return "", fmt.Errorf("%w: attribute %q is a %s value; an ID is made of S, N or B values", mesh.ErrBadResponse, name, typ)
}

// escapeKeyPart writes '%' and '#' inside a key value as %25 and %23.
func escapeKeyPart(s string) string {
	if !strings.ContainsAny(s, "%#") {
		return s
	}
	return strings.NewReplacer("%", "%25", "#", "%23").Replace(s)
}

// appendRef appends the reference(s) that a ref attribute's value stands for.
func (m *mapper) appendRef(dst []byte, target refTarget, v gjson.Result) ([]byte, error) {
	src := cmp.Or(target.source, m.source)
	ref := func(dst []byte, id string) []byte {
		if id == "" {
			return append(dst, "null"...)
		}
		return mesh.AppendRef(dst, mesh.NodeID(src, target.namespace, id))
	}
	typ, val, err := descriptor(v)
	if err != nil {
		return dst, err
	}
	switch typ {
	case "NULL":
		return append(dst, "null"...), nil
	case "S", "N", "B":
		if val.Type != gjson.String {
			return dst, fmt.Errorf("%w: %s value is not a string", mesh.ErrBadResponse, typ)
		}
		return ref(dst, val.Str), nil
	case "SS", "NS", "BS":
		ids, err := setStrings(typ, val)
		if err != nil {
			return dst, err
		}
		dst = append(dst, '[')
		for i, id := range ids {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = ref(dst, id)
		}
		return append(dst, ']'), nil
	case "L":
		if !val.IsArray() {
			return dst, fmt.Errorf("%w: L value is not an array", mesh.ErrBadResponse)
		}
		dst = append(dst, '[')
		n := 0
		val.ForEach(func(_, e gjson.Result) bool {
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			et, ev, e2 := descriptor(e)
			switch {
			case e2 != nil:
				err = e2
			case et == "NULL":
				dst = append(dst, "null"...)
			case (et == "S" || et == "N" || et == "B") && ev.Type == gjson.String:
				dst = ref(dst, ev.Str)
			default:
				err = fmt.Errorf("a reference list holds a %s value; want S, N, B or NULL elements", et)
			}
			return err == nil
		})
		if err != nil {
			return dst, err
		}
		return append(dst, ']'), nil
	}
	return dst, fmt.Errorf("a reference holds a %s value; want S, N, B, NULL, a set or a list of them", typ)
}

// updatedAt reads the change time from a string or a number attribute.
func (m *mapper) updatedAt(v gjson.Result) time.Time {
	if !v.Exists() {
		return time.Time{}
	}
	typ, val, err := descriptor(v)
	var t time.Time
	if err == nil {
		switch typ {
		case "S":
			t, err = normalize.Time(val.String())
		case "N":
			secs, _, _ := strings.Cut(val.String(), ".")
			t, err = normalize.Time(secs)
		default:
			err = fmt.Errorf("a %s value", typ)
		}
	}
	if err != nil {
		m.warnOnce.Do(func() {
			m.log.Warn("dynamodb: unreadable updatedAt attribute; the node's updatedAt stays empty",
				slog.String("table", m.t.name), slog.String("attribute", m.t.updatedAt), slog.String("error", err.Error()))
		})
		return time.Time{}
	}
	return t
}

// descriptor splits a DynamoDB attribute value {"<type>": value} into its type and value.
func descriptor(v gjson.Result) (string, gjson.Result, error) {
	if !v.IsObject() {
		return "", gjson.Result{}, fmt.Errorf("%w: an attribute value is not an object", mesh.ErrBadResponse)
	}
	var (
		typ string
		val gjson.Result
		n   int
	)
	v.ForEach(func(k, x gjson.Result) bool {
		n++
		typ, val = k.String(), x
		return n < 2
	})
	if n != 1 {
		return "", gjson.Result{}, fmt.Errorf("%w: an attribute value has %d type descriptors, want 1", mesh.ErrBadResponse, n)
	}
	return typ, val, nil
}

// appendValue appends the plain JSON of a DynamoDB attribute value.
func appendValue(dst []byte, v gjson.Result, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, fmt.Errorf("%w: values nested deeper than %d levels", mesh.ErrBadResponse, maxDepth)
	}
	typ, val, err := descriptor(v)
	if err != nil {
		return dst, err
	}
	wrong := func(want string) error {
		return fmt.Errorf("%w: %s value is not %s", mesh.ErrBadResponse, typ, want)
	}
	switch typ {
	case "S", "B":
		if val.Type != gjson.String {
			return dst, wrong("a string")
		}
		return mesh.AppendString(dst, val.Str), nil
	case "N":
		if val.Type != gjson.String {
			return dst, wrong("a string")
		}
		num, err := jsonNumber(val.Str)
		if err != nil {
			return dst, err
		}
		return append(dst, num...), nil
	case "BOOL":
		switch val.Type {
		case gjson.True:
			return append(dst, "true"...), nil
		case gjson.False:
			return append(dst, "false"...), nil
		}
		return dst, wrong("true or false")
	case "NULL":
		if val.Type != gjson.True {
			return dst, wrong("true")
		}
		return append(dst, "null"...), nil
	case "M":
		if !val.IsObject() {
			return dst, wrong("an object")
		}
		dst = append(dst, '{')
		n := 0
		val.ForEach(func(k, x gjson.Result) bool {
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = mesh.AppendString(dst, k.String())
			dst = append(dst, ':')
			dst, err = appendValue(dst, x, depth+1)
			return err == nil
		})
		if err != nil {
			return dst, err
		}
		return append(dst, '}'), nil
	case "L":
		if !val.IsArray() {
			return dst, wrong("an array")
		}
		dst = append(dst, '[')
		n := 0
		val.ForEach(func(_, x gjson.Result) bool {
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst, err = appendValue(dst, x, depth+1)
			return err == nil
		})
		if err != nil {
			return dst, err
		}
		return append(dst, ']'), nil
	case "SS", "NS", "BS":
		ss, err := setStrings(typ, val)
		if err != nil {
			return dst, err
		}
		dst = append(dst, '[')
		for i, s := range ss {
			if i > 0 {
				dst = append(dst, ',')
			}
			if typ == "NS" {
				dst = append(dst, s...) // checked by setStrings
			} else {
				dst = mesh.AppendString(dst, s)
			}
		}
		return append(dst, ']'), nil
	}
	return dst, fmt.Errorf("%w: unknown attribute type %q", mesh.ErrBadResponse, typ)
}

// setStrings reads an SS, NS or BS value: its elements sorted, strings and binary values by their
// bytes, numbers by value (as JSON number literals).
func setStrings(typ string, val gjson.Result) ([]string, error) {
	if !val.IsArray() {
		return nil, fmt.Errorf("%w: %s value is not an array", mesh.ErrBadResponse, typ)
	}
	var (
		out []string
		err error
	)
	val.ForEach(func(_, e gjson.Result) bool {
		if e.Type != gjson.String {
			err = fmt.Errorf("%w: %s element is not a string", mesh.ErrBadResponse, typ)
			return false
		}
		s := e.Str
		if typ == "NS" {
			if s, err = jsonNumber(s); err != nil {
				return false
			}
		}
		out = append(out, s)
		return true
	})
	if err != nil {
		return nil, err
	}
	if typ == "NS" {
		slices.SortStableFunc(out, func(a, b string) int {
			da, _ := parseDecimal(a)
			db, _ := parseDecimal(b)
			return cmp.Or(da.cmp(db), strings.Compare(a, b))
		})
	} else {
		slices.Sort(out)
	}
	return out, nil
}

// jsonNumber returns a DynamoDB number as a JSON number literal: the text DynamoDB sent when it is
// one already ("42", "-1.5", "1E+2"), otherwise made valid without changing its value: a leading '+' and leading zeros dropped, "0" put before a bare '.', a trailing
// '.' dropped. Anything else (NaN, Infinity, "", "1e") is an error.
func jsonNumber(s string) (string, error) {
	if isJSONNumber(s) {
		return s, nil
	}
	bad := fmt.Errorf("%w: N value %q is not a number", mesh.ErrBadResponse, truncate(s, 64))
	neg, intPart, frac, exp, ok := splitNumber(s)
	if !ok {
		return "", bad
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	b.WriteString(intPart)
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	if exp != "" {
		b.WriteByte('e')
		b.WriteString(exp)
	}
	if out := b.String(); isJSONNumber(out) {
		return out, nil
	}
	return "", bad
}

// splitNumber splits [+-]digits[.digits][(e|E)[+-]digits], where the mantissa has at least one digit.
// exp keeps its sign.
func splitNumber(s string) (neg bool, intPart, frac, exp string, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart = s[start:i]
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[start:i]
	}
	if intPart == "" && frac == "" {
		return false, "", "", "", false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		start = i
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		digits := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == digits {
			return false, "", "", "", false
		}
		exp = s[start:i]
	}
	return neg, intPart, frac, exp, i == len(s)
}

// isJSONNumber reports whether s is a number literal of JSON's grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// decimal is a number as 0.<digits> x 10^exp, for comparing numbers exactly.
type decimal struct {
	neg    bool
	digits string // no leading or trailing zeros; "" is zero
	exp    int
}

// parseDecimal reads a number in the syntax splitNumber accepts.
func parseDecimal(s string) (decimal, bool) {
	neg, intPart, frac, exp, ok := splitNumber(s)
	if !ok {
		return decimal{}, false
	}
	e := 0
	if exp != "" {
		sign := 1
		switch exp[0] {
		case '-':
			sign, exp = -1, exp[1:]
		case '+':
			exp = exp[1:]
		}
		for _, c := range []byte(exp) {
			if e > 1_000_000 { // far beyond DynamoDB's range (1E-130 to 1E+126): saturate
				break
			}
			e = e*10 + int(c-'0')
		}
		e *= sign
	}
	all := intPart + frac
	point := len(intPart) + e
	lead := len(all) - len(strings.TrimLeft(all, "0"))
	all, point = all[lead:], point-lead
	all = strings.TrimRight(all, "0")
	if all == "" {
		return decimal{}, true
	}
	return decimal{neg: neg, digits: all, exp: point}, true
}

// cmp compares two decimals by value.
func (a decimal) cmp(b decimal) int {
	sign := func(d decimal) int {
		switch {
		case d.digits == "":
			return 0
		case d.neg:
			return -1
		}
		return 1
	}
	sa, sb := sign(a), sign(b)
	if sa != sb || sa == 0 {
		return cmp.Compare(sa, sb)
	}
	c := cmp.Compare(a.exp, b.exp)
	if c == 0 {
		c = strings.Compare(a.digits, b.digits)
	}
	return c * sa
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return normalize.Truncate(s, n) + "..."
}
