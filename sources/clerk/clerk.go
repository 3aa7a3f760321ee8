// Package clerk is a mesh.Source for the people of a Clerk instance: users and organizations with
// their memberships and organization roles, from the Backend API, as the normalized User,
// Organization and Role nodes. A built site is public, so users carry their public profile only
// unless the configuration lists more.
//
// # Configuration
//
//	sources:
//	  - name: people
//	    type: clerk
//	    secretKey: ${CLERK_SECRET_KEY}   # sk_live_... or sk_test_...
//	    fields: [email]                  # personal data to include (default: none)
//	    baseURL: http://127.0.0.1:9000   # optional: replaces https://api.clerk.com (tests, proxies)
//	    timeout: 30s                     # and the other mesh/fetch options: retries, concurrency,
//	    requestsPerSecond: 10            # requestsPerSecond, maxRetryAfter, ...
//
// fields lists personal data to include, by normalized name:
//
//	email      the primary email address                       -> "email"
//	phone      the primary phone number                        -> "phone"
//	lastLogin  last_sign_in_at; also sets the node's updatedAt -> "lastLogin"
//	metadata   users' public_metadata and unsafe_metadata,     -> "metadata": {"public": ..., "unsafe": ...}
//	           organizations' public_metadata                  -> "metadata"
//
// lastIp is refused (Clerk's user object has none), and so is any other name, naming it.
// private_metadata never leaves, even with metadata listed: it is Clerk's backend-only store, where
// applications keep what their own front end must not see. last_active_at never leaves either.
//
// # Authentication
//
// The instance's secret key, sent as Authorization: Bearer, to the configured host only. It never
// appears in errors, logs or outputs.
//
// # Rate limits
//
// Clerk limits the Backend API per instance (1,000 requests per 10 seconds in production, 100 in
// development) and answers 429 with Retry-After in seconds, which mesh/fetch honors (up to
// maxRetryAfter) for the whole source. Pages of a listing are fetched concurrently once the total is
// known.
//
// # Mapping
//
//	Clerk                               node
//	user                                User          people/user/<id>
//	organization                        Organization  people/organization/<id>
//	organization role (org:admin, ...)  Role          people/role/<role key>
//
// User fields: displayName (first_name last_name; never an email address or phone number), username,
// avatarUrl (image_url: Clerk's generated avatar when the user has none), createdAt, organizations
// ($refs), memberships ([{organization: $ref, roles: [$ref]}]), roles ($refs to every role the user
// holds in any organization: Clerk has organization roles only), plus the selected personal fields.
// The node's updatedAt is left unset unless lastLogin is selected: updated_at moves at every sign-in.
// Organization: name, slug, logoUrl (image_url when set), createdAt, updatedAt, metadata when
// selected. Role: name (role_name), description (null: memberships do not carry it). The backrefs
// of a Role or an Organization list its members.
//
// Listings: GET /v1/users (a bare array) with limit/offset, oldest first, the total from
// GET /v1/users/count, and pages requested until a short one (users created during the build are
// not lost); GET /v1/organizations and GET /v1/organizations/{id}/memberships ({"data", "total_count"})
// with limit/offset. Pages hold up to 500 items. Of a membership only the user's id, the role and the
// role's name are read: public_user_data.identifier, an email or phone number, is not.
//
// # Incremental sync
//
// None: every build fetches everything. The Backend API has no list of deleted users and no
// updated-since filter, and membership changes do not change the user.
package clerk

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/people"
)

// Kind is the adapter's name, the config's `type: clerk`.
const Kind = "clerk"

// Config configures a Clerk Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// SecretKey is the instance's secret key (sk_live_... or sk_test_...). String, GoString and
	// LogValue redact it.
	SecretKey string `yaml:"secretKey"`
	// Fields lists the personal data to include (see the package documentation).
	Fields []string `yaml:"fields,omitempty"`
	// BaseURL, when set, replaces https://api.clerk.com (a test server or a proxy).
	BaseURL string `yaml:"baseURL,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// String describes the configuration without its secret.
func (c Config) String() string {
	return fmt.Sprintf("clerk.Config{SecretKey:%s Fields:%q BaseURL:%q}", fetch.Redacted, c.Fields, c.BaseURL)
}

// GoString is String, so that %#v does not print the secret either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the secret.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads a Clerk instance. It is safe for concurrent use.
type Source struct {
	cfg    Config
	sel    people.Selection
	client *fetch.Client
	host   string
}

var (
	_ mesh.Source  = (*Source)(nil)
	_ mesh.Checker = (*Source)(nil)
)

// New validates cfg and returns a Source. It does no I/O and starts no goroutine. Errors wrap
// mesh.ErrInvalidConfig and name the key.
func New(cfg Config) (*Source, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("clerk: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(cfg.SecretKey) == "" {
		return nil, bad("secretKey", "required: the instance's secret key, sk_live_... (use ${VAR})")
	}
	if strings.ContainsAny(cfg.SecretKey, "\r\n\x00 ") {
		return nil, bad("secretKey", "has a space or a line break")
	}
	sel, err := people.Parse(Kind, cfg.Fields, knownFields, "")
	if err != nil {
		return nil, err
	}
	base := defaultBaseURL
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bad("baseURL", "want an http or https URL, got %s", fetch.RedactURLString(cfg.BaseURL, nil))
		}
		base = strings.TrimSuffix(cfg.BaseURL, "/")
	}
	u, _ := url.Parse(base)
	s := &Source{cfg: cfg, sel: sel, host: u.Host}
	key := cfg.SecretKey
	s.client, err = fetch.New(fetch.Config{
		Source:  Kind,
		BaseURL: base,
		Auth: people.SafeHost(func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+key)
			return nil
		}, s.host),
		ErrorMessage: errorMessage,
	}, cfg.Options)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// String describes the source without its secret.
func (s *Source) String() string { return "clerk " + s.host + " fields " + s.sel.String() }

// Check implements mesh.Checker: it counts the users.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	r, err := s.client.DoJSON(ctx, &fetch.Request{URL: pathUsersCount})
	if err != nil {
		return fmt.Errorf("clerk: %w", err)
	}
	if _, err := totalCount(r.Body); err != nil {
		return fmt.Errorf("clerk: %s: %w", r.URL, err)
	}
	return nil
}

// membership is one user's membership of one organization.
type membership struct {
	org  string // node ID
	role string // node ID
}

// fetcher is the state of one Fetch.
type fetcher struct {
	s    *Source
	src  string
	size int
	out  *people.Out

	mu      sync.Mutex
	members map[string][]membership // user id -> memberships
	roles   map[string]bool         // role keys emitted
}

// Fetch implements mesh.Source: organizations and their memberships first, then the users, each
// emitted with its organizations and roles.
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	size := maxLimit
	if req.PageSize > 0 && req.PageSize < size {
		size = req.PageSize
	}
	f := &fetcher{s: s, src: req.Source, size: size, out: people.NewOut(out),
		members: map[string][]membership{}, roles: map[string]bool{}}
	err := f.organizations(ctx)
	if err == nil {
		err = f.users(ctx)
	}
	if err != nil {
		return mesh.FetchResult{}, f.out.FetchError(ctx, Kind, err)
	}
	return mesh.FetchResult{}, nil
}

// list walks a {"data", "total_count"} listing of path with limit/offset, concurrently after the
// first page, calling each with every page's items (from several goroutines).
func (f *fetcher) list(ctx context.Context, path string, extra url.Values, each func(items gjson.Result) error) error {
	return f.s.client.Offset(ctx, fetch.OffsetPages{
		PageSize: f.size,
		Page: func(i int) *fetch.Request {
			q := url.Values{"limit": {strconv.Itoa(f.size)}, "offset": {strconv.Itoa(i * f.size)}}
			for k, v := range extra {
				q[k] = v
			}
			return &fetch.Request{URL: path, Query: q}
		},
		Total: func(r *fetch.Response) (int, error) { return totalCount(r.Body) },
	}, func(_ int, r *fetch.Response) error {
		items, err := listData(r.Body)
		if err != nil {
			return fmt.Errorf("%s: %w", r.URL, err)
		}
		return each(items)
	})
}

// organizations lists and emits the organizations, then lists each one's memberships.
func (f *fetcher) organizations(ctx context.Context) error {
	var mu sync.Mutex
	var ids []string
	err := f.list(ctx, pathOrgs, url.Values{"order_by": {orderOrgs}}, func(items gjson.Result) error {
		nodes, err := decodeOrganizations(f.src, items, f.s.sel)
		if err != nil {
			return err
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
		return fmt.Errorf("list organizations: %w", err)
	}
	slices.Sort(ids)
	return people.FanOut(ctx, f.s.client.Options().Concurrency, ids, func(ctx context.Context, orgID string) error {
		err := f.list(ctx, membershipsPath(orgID), nil, func(items gjson.Result) error {
			ms, roles, err := decodeMemberships(f.src, orgID, items)
			if err != nil {
				return err
			}
			for _, r := range roles {
				if err := f.emitRole(r); err != nil {
					return err
				}
			}
			f.mu.Lock()
			for user, m := range ms {
				f.members[user] = append(f.members[user], m...)
			}
			f.mu.Unlock()
			return nil
		})
		if err != nil {
			return fmt.Errorf("list the memberships of organization %s: %w", orgID, err)
		}
		return nil
	})
}

// emitRole emits a role the first time it is seen.
func (f *fetcher) emitRole(r people.Role) error {
	f.mu.Lock()
	seen := f.roles[r.NativeID]
	f.roles[r.NativeID] = true
	f.mu.Unlock()
	if seen {
		return nil
	}
	return f.out.Upsert(r.Node(f.src))
}

// users counts the users, then lists them, oldest first, until a short page.
func (f *fetcher) users(ctx context.Context) error {
	r, err := f.s.client.DoJSON(ctx, &fetch.Request{URL: pathUsersCount})
	if err != nil {
		return fmt.Errorf("count users: %w", err)
	}
	total, err := totalCount(r.Body)
	if err != nil {
		return fmt.Errorf("count users: %s: %w", r.URL, err)
	}
	err = f.s.client.Offset(ctx, fetch.OffsetPages{
		PageSize: f.size,
		Page: func(i int) *fetch.Request {
			return &fetch.Request{URL: pathUsers, Query: url.Values{
				"limit": {strconv.Itoa(f.size)}, "offset": {strconv.Itoa(i * f.size)}, "order_by": {orderUsers}}}
		},
		Total:      func(*fetch.Response) (int, error) { return total, nil },
		UntilShort: true,
		Items:      func(r *fetch.Response) int { return len(gjson.ParseBytes(r.Body).Array()) },
	}, func(_ int, r *fetch.Response) error {
		f.mu.Lock()
		members := f.members
		f.mu.Unlock()
		nodes, err := decodeUsers(f.src, r.Body, f.s.sel, members)
		if err != nil {
			return fmt.Errorf("%s: %w", r.URL, err)
		}
		for _, n := range nodes {
			if err := f.out.Upsert(n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	return nil
}

// decodeUsers maps a users page (a bare array) to User nodes, with the memberships collected in
// members (read only; nil: none).
func decodeUsers(source string, body []byte, sel people.Selection, members map[string][]membership) ([]mesh.Node, error) {
	page := gjson.ParseBytes(body)
	if !page.IsArray() {
		return nil, fmt.Errorf("%w: want an array of users", mesh.ErrBadResponse)
	}
	var nodes []mesh.Node
	for i, it := range page.Array() {
		u, err := decodeUser(it, sel)
		if err != nil {
			return nil, fmt.Errorf("user %d: %w", i, err)
		}
		byOrg := map[string][]string{}
		for _, m := range members[u.NativeID] {
			byOrg[m.org] = append(byOrg[m.org], m.role)
			u.Roles = append(u.Roles, m.role)
		}
		for org, roles := range byOrg {
			u.Organizations = append(u.Organizations, org)
			u.Memberships = append(u.Memberships, people.Membership{Organization: org, Roles: roles})
		}
		nodes = append(nodes, u.Node(source, sel))
	}
	return nodes, nil
}

// decodeUser reads one Clerk user. Personal attributes are read only when selected.
func decodeUser(it gjson.Result, sel people.Selection) (*people.User, error) {
	if !it.IsObject() {
		return nil, fmt.Errorf("%w: not an object", mesh.ErrBadResponse)
	}
	id := it.Get("id")
	if id.Type != gjson.String || id.Str == "" {
		return nil, fmt.Errorf("%w: no id", mesh.ErrBadResponse)
	}
	u := &people.User{NativeID: strings.Clone(id.Str), HasMemberships: true,
		DisplayName: strings.Clone(strings.TrimSpace(it.Get("first_name").String() + " " + it.Get("last_name").String())),
		Username:    strings.Clone(it.Get("username").String()),
		AvatarURL:   strings.Clone(it.Get("image_url").String()),
		CreatedAt:   millis(it.Get("created_at")),
	}
	if sel.Has(people.Email) {
		u.Email = primary(it, "primary_email_address_id", "email_addresses", "email_address")
	}
	if sel.Has(people.Phone) {
		u.Phone = primary(it, "primary_phone_number_id", "phone_numbers", "phone_number")
	}
	if sel.Has(people.LastLogin) {
		u.LastLogin = millis(it.Get("last_sign_in_at"))
		u.UpdatedAt = millis(it.Get("updated_at"))
	}
	if sel.Has(people.Metadata) {
		o := mesh.NewObject()
		o.Set("public", rawObject(it.Get("public_metadata")))
		o.Set("unsafe", rawObject(it.Get("unsafe_metadata")))
		u.Metadata = o.JSON()
	}
	return u, nil
}

// primary returns the value of the identification the user marks primary (the first one when none
// is marked).
func primary(user gjson.Result, primaryKey, listKey, valueKey string) string {
	want := user.Get(primaryKey).String()
	list := user.Get(listKey).Array()
	for _, e := range list {
		if want != "" && e.Get("id").String() == want {
			return strings.Clone(e.Get(valueKey).String())
		}
	}
	if want == "" && len(list) > 0 {
		return strings.Clone(list[0].Get(valueKey).String())
	}
	return ""
}

// rawObject returns a copy of an object's JSON, or nil (null).
func rawObject(r gjson.Result) []byte {
	if !r.IsObject() {
		return nil
	}
	return []byte(r.Raw)
}

// decodeOrganizations maps the items of an organizations page to Organization nodes.
func decodeOrganizations(source string, items gjson.Result, sel people.Selection) ([]mesh.Node, error) {
	var nodes []mesh.Node
	for i, it := range items.Array() {
		id := it.Get("id")
		if id.Type != gjson.String || id.Str == "" {
			return nil, fmt.Errorf("organization %d: %w: no id", i, mesh.ErrBadResponse)
		}
		o := people.Organization{NativeID: strings.Clone(id.Str), Name: strings.Clone(it.Get("name").String()),
			Slug: strings.Clone(it.Get("slug").String()), LogoURL: strings.Clone(it.Get("image_url").String()),
			CreatedAt: millis(it.Get("created_at")), UpdatedAt: millis(it.Get("updated_at"))}
		if sel.Has(people.Metadata) {
			o.Metadata = rawObject(it.Get("public_metadata"))
		}
		nodes = append(nodes, o.Node(source, sel))
	}
	return nodes, nil
}

// decodeMemberships reads the items of a memberships page of one organization: each user's
// membership, and the roles seen.
func decodeMemberships(source, orgID string, items gjson.Result) (map[string][]membership, []people.Role, error) {
	org := people.OrganizationID(source, orgID)
	out := map[string][]membership{}
	var roles []people.Role
	for i, it := range items.Array() {
		user := it.Get("public_user_data.user_id")
		if user.Type != gjson.String || user.Str == "" {
			return nil, nil, fmt.Errorf("membership %d: %w: no public_user_data.user_id", i, mesh.ErrBadResponse)
		}
		key := it.Get("role").String()
		if key == "" {
			return nil, nil, fmt.Errorf("membership %d: %w: no role", i, mesh.ErrBadResponse)
		}
		role := people.Role{NativeID: strings.Clone(key), Name: strings.Clone(it.Get("role_name").String())}
		if role.Name == "" {
			role.Name = role.NativeID
		}
		roles = append(roles, role)
		uid := strings.Clone(user.Str)
		out[uid] = append(out[uid], membership{org: org, role: people.RoleID(source, role.NativeID)})
	}
	return out, roles, nil
}

// decodeMembershipsPage maps a whole memberships page (for the fuzz target): its Role nodes.
func decodeMembershipsPage(source, orgID string, body []byte) ([]mesh.Node, error) {
	items, err := listData(body)
	if err != nil {
		return nil, err
	}
	_, roles, err := decodeMemberships(source, orgID, items)
	if err != nil {
		return nil, err
	}
	var nodes []mesh.Node
	for _, r := range roles {
		nodes = append(nodes, r.Node(source))
	}
	return nodes, nil
}
