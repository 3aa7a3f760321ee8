// Package auth0 is a mesh.Source for the people of an Auth0 tenant: users, roles and organizations
// from the Management API v2, as the normalized User, Role and Organization nodes. A built site is
// public, so users carry their public profile only unless the configuration lists more.
//
// # Configuration
//
//	sources:
//	  - name: people
//	    type: auth0
//	    domain: acme.eu.auth0.com            # the tenant's domain (not a custom domain: the token's audience is https://<domain>/api/v2/)
//	    clientId: ${AUTH0_CLIENT_ID}         # a machine-to-machine application authorized for the Management API
//	    clientSecret: ${AUTH0_CLIENT_SECRET}
//	    fields: [email]                      # personal data to include (default: none)
//	    baseURL: http://127.0.0.1:9000       # optional: replaces https://<domain> (tests, proxies)
//	    timeout: 30s                         # and the other mesh/fetch options: retries, concurrency,
//	    requestsPerSecond: 2                 # requestsPerSecond, maxRetryAfter, ...
//
// fields lists personal data to include, by normalized name:
//
//	email      the user's email                              -> "email"
//	phone      phone_number (SMS connections)                -> "phone"
//	lastLogin  last_login; also sets the node's updatedAt    -> "lastLogin"
//	lastIp     last_ip: only when listed by this exact name  -> "lastIp"
//	metadata   app_metadata and user_metadata of users, and  -> "metadata": {"app": ..., "user": ...}
//	           organizations' metadata                       -> "metadata"
//
// Any other name is a configuration error naming it. Unlisted personal attributes are not even
// requested: the users listing asks for the public attributes plus the selected ones (fields=...,
// include_fields=true), and the mapping drops anything else the API sends anyway.
//
// # Authentication
//
// The source gets a Management API token with the client credentials grant: POST /oauth/token with
// clientId, clientSecret and the audience https://<domain>/api/v2/. The token is fetched once per
// source (mesh/fetch's TokenCache: concurrent requests share one token request) and refreshed before
// it expires (expires_in, 24 hours by default); a 401 from the API drops the token and the request is
// retried once with a new one. The token is sent only to the configured host. The application needs
// the scopes read:users, read:roles, read:role_members, read:organizations,
// read:organization_members and read:organization_member_roles. The client secret and the tokens
// never appear in errors, logs or outputs (a provider message that echoes the secret is scrubbed).
//
// # Rate limits
//
// Auth0 limits the Management API per tenant with a token bucket (2 requests per second on the free
// plan, more on paid ones) and answers 429 with x-ratelimit-reset (a Unix time in seconds), which
// mesh/fetch honors (up to maxRetryAfter) for the whole source. Set requestsPerSecond to the plan's
// rate to stay under it. The pages of one listing are fetched concurrently (offset paging) or one
// after the other (checkpoint paging).
//
// # Mapping
//
//	Auth0                         node
//	user                          User          people/user/<user_id>
//	role                          Role          people/role/<id>
//	organization                  Organization  people/organization/<id>
//
// User fields: displayName (name; else given_name family_name; else nickname; never a value that is
// an email address or a phone number, which Auth0 puts in name for passwordless users), username
// (username, else nickname), avatarUrl (picture), createdAt, roles ($refs to the user's tenant roles,
// from each role's members), organizations ($refs, from each organization's members) and memberships
// ([{organization: $ref, roles: [$ref]}]: the roles held in each organization), plus the selected
// personal fields. The node's updatedAt is left unset unless lastLogin is selected: Auth0 changes
// updated_at at every login. Role: name, description. Organization: name (display_name, else name),
// slug (name), logoUrl (branding.logo_url), metadata when selected. The backrefs of a Role or an
// Organization list its members (field "roles", "organizations", "memberships.organization").
//
// Listings: roles with offset paging (include_totals=true); role members, organizations and
// organization members with checkpoint paging (take/from, next), which has no 1,000-record ceiling.
// Users have offset paging only, and only the first 1,000 users of a query can be reached: when the
// tenant has 1,000 users or more the listing is split by creation time (q=created_at:[a TO b],
// search_engine=v3), halving each range that still holds 1,000 or more, so every user is fetched
// (the user export job is not used). Users come sorted by created_at, oldest first. IDs such as
// auth0|abc are escaped in paths.
//
// # Incremental sync
//
// None: every build fetches everything. Auth0 has no list of deleted users, and role and
// organization membership changes do not change a user's updated_at, so a delta could not be
// exact.
package auth0

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
	"github.com/contentmesh/contentmesh/sources/internal/people"
)

// Kind is the adapter's name, the config's `type: auth0`.
const Kind = "auth0"

// Config configures an Auth0 Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// Domain is the tenant's domain, e.g. "acme.eu.auth0.com".
	Domain string `yaml:"domain"`
	// ClientID and ClientSecret are a machine-to-machine application's credentials. ClientSecret is a
	// secret: String, GoString and LogValue redact it.
	ClientID     string `yaml:"clientId"`
	ClientSecret string `yaml:"clientSecret"`
	// Fields lists the personal data to include (see the package documentation).
	Fields []string `yaml:"fields,omitempty"`
	// BaseURL, when set, replaces https://<domain> (a test server or a proxy).
	BaseURL string `yaml:"baseURL,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// String describes the configuration without its secret.
func (c Config) String() string {
	return fmt.Sprintf("auth0.Config{Domain:%q ClientID:%q ClientSecret:%s Fields:%q BaseURL:%q}",
		c.Domain, c.ClientID, fetch.Redacted, c.Fields, c.BaseURL)
}

// GoString is String, so that %#v does not print the secret either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the secret.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads an Auth0 tenant. It is safe for concurrent use, and for several Fetch calls one
// after the other (the token is kept between them).
type Source struct {
	cfg      Config
	sel      people.Selection
	api      *fetch.Client // the Management API, with the bearer token
	auth     *fetch.Client // the token endpoint
	tokens   *fetch.TokenCache
	audience string
	host     string // the only host the token is sent to
	// maxRecords is the offset-paging ceiling (maxOffsetRecords; tests lower it).
	maxRecords int

	mu sync.Mutex
	// current is the last token fetched. retry401 is set when a 401 dropped it: the next token
	// fetched is then remembered in replaced, and a 401 to that one is not retried during the same
	// Fetch (the credentials, not the token's age, are wrong).
	current  string
	retry401 bool
	replaced map[string]bool
}

var (
	_ mesh.Source  = (*Source)(nil)
	_ mesh.Checker = (*Source)(nil)
)

// New validates cfg and returns a Source. It does no I/O and starts no goroutine. Errors wrap
// mesh.ErrInvalidConfig and name the key.
func New(cfg Config) (*Source, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("auth0: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	domain := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(cfg.Domain), "https://"), "/")
	switch {
	case domain == "":
		return nil, bad("domain", "required: the tenant's domain, e.g. acme.eu.auth0.com")
	case !validHost(domain):
		return nil, bad("domain", "%q: want a host name such as acme.eu.auth0.com", cfg.Domain)
	case cfg.ClientID == "":
		return nil, bad("clientId", "required: the client ID of a machine-to-machine application")
	case cfg.ClientSecret == "":
		return nil, bad("clientSecret", "required: the client secret of that application (use ${VAR})")
	}
	sel, err := people.Parse(Kind, cfg.Fields, knownFields, "")
	if err != nil {
		return nil, err
	}
	base := "https://" + domain
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bad("baseURL", "want an http or https URL, got %s", fetch.RedactURLString(cfg.BaseURL, nil))
		}
		base = strings.TrimSuffix(cfg.BaseURL, "/")
	}
	u, _ := url.Parse(base)
	s := &Source{cfg: cfg, sel: sel, audience: "https://" + domain + audiencePath, host: u.Host,
		maxRecords: maxOffsetRecords, replaced: map[string]bool{}}
	secret := cfg.ClientSecret
	s.auth, err = fetch.New(fetch.Config{
		Source:  Kind,
		BaseURL: base,
		ErrorMessage: func(status int, body []byte) string {
			// The secret travels in the body, which mesh/fetch does not know: scrub it here.
			return strings.ReplaceAll(errorMessage(status, body), secret, fetch.Redacted)
		},
	}, cfg.Options)
	if err != nil {
		return nil, err
	}
	s.tokens = &fetch.TokenCache{Fetch: s.fetchToken}
	bearer := s.tokens.Bearer()
	s.api, err = fetch.New(fetch.Config{
		Source:       Kind,
		BaseURL:      base,
		Auth:         people.SafeHost(bearer, s.host),
		ErrorMessage: errorMessage,
		ShouldRetry:  s.shouldRetry,
	}, cfg.Options)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// validHost reports whether s is a host name, optionally with a port.
func validHost(s string) bool {
	if strings.ContainsAny(s, "/?#@ \t") {
		return false
	}
	host := s
	if h, _, err := net.SplitHostPort(s); err == nil {
		host = h
	}
	return host != "" && !strings.HasPrefix(host, ".") && !strings.HasSuffix(host, ".")
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// String describes the source without its secrets.
func (s *Source) String() string { return "auth0 " + s.host + " fields " + s.sel.String() }

// fetchToken is the TokenCache's Fetch: the client credentials grant.
func (s *Source) fetchToken(ctx context.Context) (string, time.Duration, error) {
	body, err := json.Marshal(map[string]string{
		"grant_type":    grantType,
		"client_id":     s.cfg.ClientID,
		"client_secret": s.cfg.ClientSecret,
		"audience":      s.audience,
	})
	if err != nil {
		return "", 0, err
	}
	r, err := s.auth.DoJSON(ctx, &fetch.Request{
		Method: http.MethodPost, URL: pathToken, Body: body,
		Header: http.Header{"Content-Type": {"application/json"}},
		// The grant has no side effect: repeating it after a 429 or a 5xx is safe.
		Idempotent: true,
	})
	if err != nil {
		return "", 0, err
	}
	tok := r.Get("access_token").String()
	if tok == "" {
		return "", 0, fmt.Errorf("POST %s: %w: no access_token in the answer", r.URL, mesh.ErrBadResponse)
	}
	if tt := r.Get("token_type").String(); tt != "" && !strings.EqualFold(tt, "Bearer") {
		return "", 0, fmt.Errorf("POST %s: %w: token_type %q, want Bearer", r.URL, mesh.ErrBadResponse, tt)
	}
	ttl := time.Duration(r.Get("expires_in").Int()) * time.Second
	s.mu.Lock()
	s.current = tok
	if s.retry401 {
		s.retry401 = false
		s.replaced[tok] = true
	}
	s.mu.Unlock()
	return tok, ttl, nil
}

// shouldRetry retries a request answered 401 once with a new token: the cached one may have been
// revoked or may have expired early. A 401 to a token fetched after such a 401 is final.
func (s *Source) shouldRetry(resp *http.Response) (retry, decided bool) {
	if resp.StatusCode != http.StatusUnauthorized || resp.Request == nil {
		return false, false
	}
	tok, ok := strings.CutPrefix(resp.Request.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return false, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replaced[tok] {
		return false, true
	}
	if tok == s.current {
		s.retry401 = true
		s.tokens.Invalidate(tok)
	}
	return true, true
}

// Check implements mesh.Checker: it gets a token and reads one role.
func (s *Source) Check(ctx context.Context) error {
	defer s.closeIdle()
	_, err := s.api.DoJSON(ctx, &fetch.Request{URL: pathRoles, Query: url.Values{"per_page": {"1"}, "page": {"0"}}})
	if err != nil {
		return fmt.Errorf("auth0: %w", err)
	}
	return nil
}

func (s *Source) closeIdle() {
	s.api.CloseIdleConnections()
	s.auth.CloseIdleConnections()
}

// links collects who holds which role and belongs to which organization, from the role and
// organization member listings, before the users are emitted.
type links struct {
	mu    sync.Mutex
	roles map[string][]string            // user id -> role node IDs
	orgs  map[string]map[string][]string // user id -> organization node ID -> role node IDs
}

func (l *links) addRole(user, role string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roles[user] = append(l.roles[user], role)
}

func (l *links) addMember(user, org string, roles []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.orgs[user]
	if m == nil {
		m = map[string][]string{}
		l.orgs[user] = m
	}
	m[org] = append(m[org], roles...)
}

// Fetch implements mesh.Source: roles and organizations with their members first (concurrently),
// then the users, each emitted with its roles and organizations.
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.closeIdle()
	// A token refreshed after a 401 and rejected again is final for this fetch only: a later build
	// may meet a token revoked since, which deserves its one refresh.
	s.mu.Lock()
	s.retry401, s.replaced = false, map[string]bool{}
	s.mu.Unlock()
	size := maxPerPage
	if req.PageSize > 0 && req.PageSize < size {
		size = req.PageSize
	}
	f := &fetcher{s: s, src: req.Source, size: size, out: people.NewOut(out),
		links: &links{roles: map[string][]string{}, orgs: map[string]map[string][]string{}}}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return f.roles(gctx) })
	g.Go(func() error { return f.organizations(gctx) })
	err := g.Wait()
	if err == nil {
		err = f.users(ctx)
	}
	if err != nil {
		return mesh.FetchResult{}, f.out.FetchError(ctx, Kind, err)
	}
	return mesh.FetchResult{}, nil
}

// fetcher is the state of one Fetch.
type fetcher struct {
	s     *Source
	src   string
	size  int
	out   *people.Out
	links *links
}

// fanOut runs fn for each id, at most the client's concurrency at once.
func (f *fetcher) fanOut(ctx context.Context, ids []string, fn func(ctx context.Context, id string) error) error {
	return people.FanOut(ctx, f.s.api.Options().Concurrency, ids, fn)
}

// checkpoint walks a checkpoint listing (take, then from=<next>) of path, calling each with the items
// of every page.
func (f *fetcher) checkpoint(ctx context.Context, path, key string, extra url.Values, each func(gjson.Result) error) error {
	return f.s.api.Cursor(ctx, fetch.CursorPages{
		Request: func(from string) *fetch.Request {
			q := url.Values{"take": {strconv.Itoa(f.size)}}
			for k, v := range extra {
				q[k] = v
			}
			if from != "" {
				q.Set("from", from)
			}
			return &fetch.Request{URL: path, Query: q}
		},
		Next: func(r *fetch.Response) (string, error) { return checkpointNext(r.Body), nil },
	}, func(_ int, r *fetch.Response) error {
		items, err := pageItems(r.Body, key)
		if err != nil {
			return fmt.Errorf("%s: %w", r.URL, err)
		}
		for _, it := range items.Array() {
			if err := each(it); err != nil {
				return err
			}
		}
		return nil
	})
}

// roles lists the tenant's roles (offset paging), emits them, then lists each role's users.
func (f *fetcher) roles(ctx context.Context) error {
	var mu sync.Mutex
	var ids []string
	err := f.s.api.Offset(ctx, fetch.OffsetPages{
		PageSize: f.size,
		Page: func(i int) *fetch.Request {
			return &fetch.Request{URL: pathRoles, Query: url.Values{
				"page": {strconv.Itoa(i)}, "per_page": {strconv.Itoa(f.size)}, "include_totals": {"true"}}}
		},
		Total: func(r *fetch.Response) (int, error) {
			n, err := pageTotal(r.Body)
			if err == nil && n > f.s.maxRecords {
				err = fmt.Errorf("the tenant has %d roles; the Management API lists only the first %d", n, f.s.maxRecords)
			}
			return n, err
		},
	}, func(_ int, r *fetch.Response) error {
		nodes, err := decodeRoles(f.src, r.Body)
		if err != nil {
			return fmt.Errorf("%s: %w", r.URL, err)
		}
		for _, n := range nodes {
			if err := f.out.Upsert(n); err != nil {
				return err
			}
			mu.Lock()
			ids = append(ids, n.NativeID)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list roles: %w", err)
	}
	slices.Sort(ids)
	return f.fanOut(ctx, ids, func(ctx context.Context, roleID string) error {
		roleNode := people.RoleID(f.src, roleID)
		err := f.checkpoint(ctx, roleUsersPath(roleID), "users", nil, func(u gjson.Result) error {
			if id := u.Get("user_id").String(); id != "" {
				f.links.addRole(strings.Clone(id), roleNode)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("list the users of role %s: %w", roleID, err)
		}
		return nil
	})
}

// organizations lists the organizations (checkpoint paging), emits them, then lists each one's
// members with their roles in it.
func (f *fetcher) organizations(ctx context.Context) error {
	var ids []string
	err := f.checkpoint(ctx, pathOrgs, "organizations", nil, func(o gjson.Result) error {
		org, err := decodeOrganization(o)
		if err != nil {
			return err
		}
		ids = append(ids, org.NativeID)
		return f.out.Upsert(org.Node(f.src, f.s.sel))
	})
	if err != nil {
		return fmt.Errorf("list organizations: %w", err)
	}
	extra := url.Values{"fields": {"user_id,roles"}, "include_fields": {"true"}}
	return f.fanOut(ctx, ids, func(ctx context.Context, orgID string) error {
		orgNode := people.OrganizationID(f.src, orgID)
		err := f.checkpoint(ctx, orgMembersPath(orgID), "members", extra, func(m gjson.Result) error {
			id := m.Get("user_id").String()
			if id == "" {
				return nil
			}
			var roles []string
			for _, r := range m.Get("roles").Array() {
				if rid := r.Get("id").String(); rid != "" {
					roles = append(roles, people.RoleID(f.src, rid))
				}
			}
			f.links.addMember(strings.Clone(id), orgNode, roles)
			return nil
		})
		if err != nil {
			return fmt.Errorf("list the members of organization %s: %w", orgID, err)
		}
		return nil
	})
}

// errSplit says that a users query holds too many users for offset paging.
var errSplit = errors.New("too many users for one query")

// users lists every user: one offset listing when the tenant has fewer than maxRecords users, else
// listings of creation-time ranges small enough for offset paging.
func (f *fetcher) users(ctx context.Context) error {
	var oldest, newest time.Time
	pending := []createdRange{{}}
	for len(pending) > 0 {
		r := pending[0]
		pending = pending[1:]
		var total int
		var first gjson.Result
		err := f.userRange(ctx, r, &total, &first)
		if !errors.Is(err, errSplit) {
			if err != nil {
				return fmt.Errorf("list users (%s): %w", r, err)
			}
			continue
		}
		if oldest.IsZero() {
			// The whole listing is too big: learn its time span, oldest first, newest by one query.
			if oldest, err = normalize.Time(first.Get("created_at").String()); err != nil {
				return fmt.Errorf("list users: %w: the oldest user's created_at: %v", mesh.ErrBadResponse, err)
			}
			if newest, err = f.newestUser(ctx); err != nil {
				return fmt.Errorf("list users: %w", err)
			}
		}
		a, b, ok := r.split(oldest, newest)
		if !ok {
			return fmt.Errorf("list users: %d users were created in the same millisecond (%s): "+
				"more than the Management API can list with offset paging; use a user export job", total, r)
		}
		pending = append([]createdRange{a, b}, pending...)
	}
	return nil
}

// userRange lists the users of one creation-time range with offset paging, emitting them. When the
// range holds maxRecords users or more it returns errSplit (wrapped) with the total and the first
// user, having emitted nothing.
func (f *fetcher) userRange(ctx context.Context, r createdRange, total *int, first *gjson.Result) error {
	q := url.Values{
		"per_page": {strconv.Itoa(f.size)}, "include_totals": {"true"}, "sort": {sortUsers},
		"fields": {joinFields(f.userFields())}, "include_fields": {"true"},
	}
	if rq := r.query(); rq != "" {
		q.Set("q", rq)
		q.Set("search_engine", searchEngine)
	}
	return f.s.api.Offset(ctx, fetch.OffsetPages{
		PageSize: f.size,
		Page: func(i int) *fetch.Request {
			pq := cloneQuery(q)
			pq.Set("page", strconv.Itoa(i))
			return &fetch.Request{URL: pathUsers, Query: pq}
		},
		Total: func(resp *fetch.Response) (int, error) {
			n, err := pageTotal(resp.Body)
			if err != nil {
				return 0, err
			}
			if n >= f.s.maxRecords {
				*total = n
				items, _ := pageItems(resp.Body, "users")
				*first = items.Get("0")
				return 0, errSplit
			}
			return n, nil
		},
	}, func(_ int, resp *fetch.Response) error {
		nodes, err := decodeUsers(f.src, resp.Body, f.s.sel, f.links)
		if err != nil {
			return fmt.Errorf("%s: %w", resp.URL, err)
		}
		for _, n := range nodes {
			if err := f.out.Upsert(n); err != nil {
				return err
			}
		}
		return nil
	})
}

// newestUser returns the creation time of the newest user.
func (f *fetcher) newestUser(ctx context.Context) (time.Time, error) {
	r, err := f.s.api.DoJSON(ctx, &fetch.Request{URL: pathUsers, Query: url.Values{
		"per_page": {"1"}, "page": {"0"}, "sort": {sortNewest}, "fields": {"user_id,created_at"}, "include_fields": {"true"}}})
	if err != nil {
		return time.Time{}, err
	}
	items, err := pageItems(r.Body, "users")
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", r.URL, err)
	}
	t, err := normalize.Time(items.Get("0.created_at").String())
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w: the newest user's created_at: %v", r.URL, mesh.ErrBadResponse, err)
	}
	return t, nil
}

// userFields are the attributes to request: the public ones and the selected personal ones.
func (f *fetcher) userFields() []string {
	out := slices.Clone(userFields)
	for _, name := range []string{people.Email, people.Phone, people.LastLogin, people.LastIP, people.Metadata} {
		if f.s.sel.Has(name) {
			out = append(out, personalUserFields[name]...)
		}
	}
	return out
}

func cloneQuery(q url.Values) url.Values {
	out := make(url.Values, len(q)+1)
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

// decodeUsers maps a users page (a bare array, or include_totals' {"users": [...]}) to User nodes,
// with the roles and organizations collected in l (nil: none).
func decodeUsers(source string, body []byte, sel people.Selection, l *links) ([]mesh.Node, error) {
	items, err := pageItems(body, "users")
	if err != nil {
		return nil, err
	}
	var nodes []mesh.Node
	for i, it := range items.Array() {
		u, err := decodeUser(it, sel)
		if err != nil {
			return nil, fmt.Errorf("user %d: %w", i, err)
		}
		if l != nil {
			l.mu.Lock()
			u.Roles = slices.Clone(l.roles[u.NativeID])
			for org, roles := range l.orgs[u.NativeID] {
				u.Organizations = append(u.Organizations, org)
				u.Memberships = append(u.Memberships, people.Membership{Organization: org, Roles: slices.Clone(roles)})
			}
			l.mu.Unlock()
		}
		nodes = append(nodes, u.Node(source, sel))
	}
	return nodes, nil
}

// decodeUser reads one Auth0 user. Personal attributes are read only when selected.
func decodeUser(it gjson.Result, sel people.Selection) (*people.User, error) {
	if !it.IsObject() {
		return nil, fmt.Errorf("%w: not an object", mesh.ErrBadResponse)
	}
	id := it.Get("user_id")
	if id.Type != gjson.String || id.Str == "" {
		return nil, fmt.Errorf("%w: no user_id", mesh.ErrBadResponse)
	}
	u := &people.User{NativeID: strings.Clone(id.Str), HasMemberships: true}
	nickname := strings.Clone(it.Get("nickname").String())
	for _, name := range []string{
		it.Get("name").String(),
		strings.TrimSpace(it.Get("given_name").String() + " " + it.Get("family_name").String()),
		nickname,
	} {
		if name != "" && !people.LooksPersonal(name) {
			u.DisplayName = strings.Clone(name)
			break
		}
	}
	u.Username = strings.Clone(it.Get("username").String())
	if u.Username == "" {
		u.Username = nickname
	}
	u.AvatarURL = strings.Clone(it.Get("picture").String())
	u.CreatedAt, _ = normalize.Time(it.Get("created_at").String())
	if sel.Has(people.Email) {
		u.Email = strings.Clone(it.Get("email").String())
	}
	if sel.Has(people.Phone) {
		u.Phone = strings.Clone(it.Get("phone_number").String())
	}
	if sel.Has(people.LastLogin) {
		u.LastLogin, _ = normalize.Time(it.Get("last_login").String())
		u.UpdatedAt, _ = normalize.Time(it.Get("updated_at").String())
	}
	if sel.Has(people.LastIP) {
		u.LastIP = strings.Clone(it.Get("last_ip").String())
	}
	if sel.Has(people.Metadata) {
		o := mesh.NewObject()
		o.Set("app", rawObject(it.Get("app_metadata")))
		o.Set("user", rawObject(it.Get("user_metadata")))
		u.Metadata = o.JSON()
	}
	return u, nil
}

// rawObject returns a copy of an object's JSON, or null.
func rawObject(r gjson.Result) []byte {
	if !r.IsObject() {
		return nil
	}
	return []byte(r.Raw)
}

// decodeRoles maps a roles page to Role nodes.
func decodeRoles(source string, body []byte) ([]mesh.Node, error) {
	items, err := pageItems(body, "roles")
	if err != nil {
		return nil, err
	}
	var nodes []mesh.Node
	for i, it := range items.Array() {
		id := it.Get("id")
		if id.Type != gjson.String || id.Str == "" {
			return nil, fmt.Errorf("role %d: %w: no id", i, mesh.ErrBadResponse)
		}
		r := people.Role{NativeID: strings.Clone(id.Str), Name: strings.Clone(it.Get("name").String()),
			Description: strings.Clone(it.Get("description").String())}
		nodes = append(nodes, r.Node(source))
	}
	return nodes, nil
}

// decodeOrganization reads one organization.
func decodeOrganization(it gjson.Result) (*people.Organization, error) {
	id := it.Get("id")
	if id.Type != gjson.String || id.Str == "" {
		return nil, fmt.Errorf("organization: %w: no id", mesh.ErrBadResponse)
	}
	o := &people.Organization{NativeID: strings.Clone(id.Str), Slug: strings.Clone(it.Get("name").String()),
		LogoURL: strings.Clone(it.Get("branding.logo_url").String())}
	o.Name = strings.Clone(it.Get("display_name").String())
	if o.Name == "" {
		o.Name = o.Slug
	}
	if md := it.Get("metadata"); md.IsObject() {
		o.Metadata = []byte(md.Raw)
	}
	return o, nil
}

// decodeOrganizations maps an organizations page to Organization nodes (for the fuzz target and
// tests; Fetch decodes them one by one).
func decodeOrganizations(source string, body []byte, sel people.Selection) ([]mesh.Node, error) {
	items, err := pageItems(body, "organizations")
	if err != nil {
		return nil, err
	}
	var nodes []mesh.Node
	for _, it := range items.Array() {
		o, err := decodeOrganization(it)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, o.Node(source, sel))
	}
	return nodes, nil
}
