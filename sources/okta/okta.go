// Package okta is a mesh.Source for the people of an Okta org: users, and groups as roles with their
// members, from the Management API, as the normalized User and Role nodes. A built site is public, so
// users carry their public profile only unless the configuration lists more.
//
// # Configuration
//
//	sources:
//	  - name: people
//	    type: okta
//	    orgUrl: https://acme.okta.com     # the org's URL
//	    token: ${OKTA_API_TOKEN}          # an API token (sent as SSWS)
//	    fields: [email]                   # personal data to include (default: none)
//	    baseURL: http://127.0.0.1:9000    # optional: replaces orgUrl's origin (tests, proxies)
//	    timeout: 30s                      # and the other mesh/fetch options: retries, concurrency,
//	    requestsPerSecond: 5              # requestsPerSecond, maxRetryAfter, ...
//
// fields lists personal data to include, by normalized name:
//
//	email      profile.email                                 -> "email"
//	phone      profile.mobilePhone, else profile.primaryPhone -> "phone"
//	lastLogin  lastLogin; also sets the node's updatedAt      -> "lastLogin"
//	metadata   the other profile attributes (title,           -> "metadata"
//	           department, employeeNumber, custom attributes)
//
// lastIp is refused (Okta's user object has none), and so is any other name, naming it. Even with
// metadata listed, the names, login, emails, phone numbers and postal address attributes of the
// profile are never part of metadata.
//
// # Authentication
//
// An API token, sent as Authorization: SSWS <token>, only to the configured host (and to orgUrl's
// host, when baseURL is a proxy and Okta's Link headers name the org). It needs read access to users
// and groups (a read-only administrator's token). It never appears in errors, logs or outputs.
//
// # Rate limits
//
// Okta limits each endpoint per minute and per org, and the concurrent requests per org; it answers
// 429 (E0000047) with X-Rate-Limit-Reset, a Unix time in seconds, which mesh/fetch honors (up to
// maxRetryAfter) for the whole source. Listings are followed one page after the other (Link
// rel="next", each page names the next); the members of several groups are listed at once, up to the
// configured concurrency.
//
// # Mapping
//
//	Okta      node
//	user      User   people/user/<id>
//	group     Role   people/role/<id>
//
// User fields: displayName (profile.displayName, else firstName lastName; never an email address or
// a phone number), username (profile.nickName: the login, usually an email address, is never used),
// avatarUrl (null: Okta profiles have no picture), createdAt (created), roles ($refs to the user's
// groups), organizations (always empty: Okta has no organizations), plus the selected personal
// fields. The node's updatedAt is left unset unless lastLogin is selected. Role: name and description
// (the group's profile), updatedAt (lastUpdated). The backrefs of a Role list its members (field
// "roles").
//
// Listings: GET /api/v1/users, GET /api/v1/groups and GET /api/v1/groups/{id}/users with limit=200,
// following every Link rel="next" header (Okta sends one Link header per relation) until a page has
// none. The plain users listing leaves out deactivated (DEPROVISIONED) users; users of every other
// status are listed. Okta's built-in groups (type BUILT_IN: Everyone) are not listed as roles: every
// user is in them.
//
// # Incremental sync
//
// None: every build fetches everything. Okta's lastUpdated filter would miss deactivated users and
// group membership changes.
package okta

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
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
	"github.com/contentmesh/contentmesh/sources/internal/people"
)

// Kind is the adapter's name, the config's `type: okta`.
const Kind = "okta"

// Config configures an Okta Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// OrgURL is the org's URL, e.g. "https://acme.okta.com".
	OrgURL string `yaml:"orgUrl"`
	// Token is an API token. String, GoString and LogValue redact it.
	Token string `yaml:"token"`
	// Fields lists the personal data to include (see the package documentation).
	Fields []string `yaml:"fields,omitempty"`
	// BaseURL, when set, replaces orgUrl's origin (a test server or a proxy).
	BaseURL string `yaml:"baseURL,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// String describes the configuration without its secret.
func (c Config) String() string {
	return fmt.Sprintf("okta.Config{OrgURL:%q Token:%s Fields:%q BaseURL:%q}", c.OrgURL, fetch.Redacted, c.Fields, c.BaseURL)
}

// GoString is String, so that %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the token.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads an Okta org. It is safe for concurrent use.
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
		return &mesh.ConfigError{Where: fmt.Sprintf("okta: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	parseOrigin := func(key, raw string) (*url.URL, error) {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, bad(key, "want the org's origin such as https://acme.okta.com, got %s", fetch.RedactURLString(raw, nil))
		}
		return u, nil
	}
	if cfg.OrgURL == "" {
		return nil, bad("orgUrl", "required: the org's URL, e.g. https://acme.okta.com")
	}
	org, err := parseOrigin("orgUrl", cfg.OrgURL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, bad("token", "required: an API token (use ${VAR})")
	}
	if strings.ContainsAny(cfg.Token, "\r\n\x00") {
		return nil, bad("token", "has a line break")
	}
	sel, err := people.Parse(Kind, cfg.Fields, knownFields, "")
	if err != nil {
		return nil, err
	}
	base := org
	if cfg.BaseURL != "" {
		if base, err = url.Parse(cfg.BaseURL); err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
			return nil, bad("baseURL", "want an http or https URL, got %s", fetch.RedactURLString(cfg.BaseURL, nil))
		}
	}
	s := &Source{cfg: cfg, sel: sel, host: base.Host}
	token := cfg.Token
	s.client, err = fetch.New(fetch.Config{
		Source:  Kind,
		BaseURL: strings.TrimSuffix(base.String(), "/"),
		Auth: people.SafeHost(func(r *http.Request) error {
			r.Header.Set("Authorization", "SSWS "+token)
			return nil
		}, base.Host, org.Host),
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
func (s *Source) String() string { return "okta " + s.host + " fields " + s.sel.String() }

// Check implements mesh.Checker: it reads one user.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	if _, err := s.client.DoJSON(ctx, &fetch.Request{URL: pathUsers, Query: url.Values{"limit": {"1"}}}); err != nil {
		return fmt.Errorf("okta: %w", err)
	}
	return nil
}

// Fetch implements mesh.Source: the groups and their members first, then the users, each emitted
// with its groups.
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	size := maxLimit
	if req.PageSize > 0 && req.PageSize < size {
		size = req.PageSize
	}
	o := people.NewOut(out)
	groups, err := s.groups(ctx, req.Source, size, o)
	if err == nil {
		err = s.users(ctx, req.Source, size, o, groups)
	}
	if err != nil {
		return mesh.FetchResult{}, o.FetchError(ctx, Kind, err)
	}
	return mesh.FetchResult{}, nil
}

// list follows a listing's Link rel="next" headers from its first page, calling each with every
// page's items (a bare array).
func (s *Source) list(ctx context.Context, path string, size int, each func(items []gjson.Result) error) error {
	return s.client.FollowLinks(ctx, &fetch.Request{URL: path, Query: url.Values{"limit": {strconv.Itoa(size)}}},
		func(_ int, r *fetch.Response) error {
			page := gjson.ParseBytes(r.Body)
			if !page.IsArray() {
				return fmt.Errorf("%s: %w: want an array", r.URL, mesh.ErrBadResponse)
			}
			return each(page.Array())
		})
}

// groups lists and emits the groups, then lists each one's members. It returns each user's role node
// IDs.
func (s *Source) groups(ctx context.Context, source string, size int, out *people.Out) (map[string][]string, error) {
	var ids []string
	err := s.list(ctx, pathGroups, size, func(items []gjson.Result) error {
		for i, it := range items {
			role, ok, err := decodeGroup(it)
			if err != nil {
				return fmt.Errorf("group %d: %w", i, err)
			}
			if !ok {
				continue
			}
			if err := out.Upsert(role.Node(source)); err != nil {
				return err
			}
			ids = append(ids, role.NativeID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	var mu sync.Mutex
	roles := map[string][]string{}
	slices.Sort(ids)
	err = people.FanOut(ctx, s.client.Options().Concurrency, ids, func(ctx context.Context, groupID string) error {
		role := people.RoleID(source, groupID)
		err := s.list(ctx, groupUsersPath(groupID), size, func(items []gjson.Result) error {
			mu.Lock()
			defer mu.Unlock()
			for i, it := range items {
				id := it.Get("id")
				if id.Type != gjson.String || id.Str == "" {
					return fmt.Errorf("member %d: %w: no id", i, mesh.ErrBadResponse)
				}
				uid := strings.Clone(id.Str)
				roles[uid] = append(roles[uid], role)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("list the members of group %s: %w", groupID, err)
		}
		return nil
	})
	return roles, err
}

// users lists and emits the users.
func (s *Source) users(ctx context.Context, source string, size int, out *people.Out, roles map[string][]string) error {
	err := s.list(ctx, pathUsers, size, func(items []gjson.Result) error {
		for i, it := range items {
			n, err := decodeUser(source, it, s.sel, roles)
			if err != nil {
				return fmt.Errorf("user %d: %w", i, err)
			}
			if err := out.Upsert(n); err != nil {
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

// decodeGroup reads one group; ok is false for a built-in group.
func decodeGroup(it gjson.Result) (people.Role, bool, error) {
	id := it.Get("id")
	if !it.IsObject() || id.Type != gjson.String || id.Str == "" {
		return people.Role{}, false, fmt.Errorf("%w: no id", mesh.ErrBadResponse)
	}
	if it.Get("type").String() == builtIn {
		return people.Role{}, false, nil
	}
	r := people.Role{NativeID: strings.Clone(id.Str), Name: strings.Clone(it.Get("profile.name").String()),
		Description: strings.Clone(it.Get("profile.description").String())}
	r.UpdatedAt, _ = normalize.Time(it.Get("lastUpdated").String())
	return r, true, nil
}

// decodeUser maps one Okta user to a User node, with its groups from roles (nil: none). Personal
// attributes are read only when selected.
func decodeUser(source string, it gjson.Result, sel people.Selection, roles map[string][]string) (mesh.Node, error) {
	id := it.Get("id")
	if !it.IsObject() || id.Type != gjson.String || id.Str == "" {
		return mesh.Node{}, fmt.Errorf("%w: no id", mesh.ErrBadResponse)
	}
	p := it.Get("profile")
	u := people.User{NativeID: strings.Clone(id.Str),
		DisplayName: strings.Clone(p.Get("displayName").String()),
		Username:    strings.Clone(p.Get("nickName").String()),
		Roles:       slices.Clone(roles[id.Str]),
	}
	if u.DisplayName == "" {
		u.DisplayName = strings.Clone(strings.TrimSpace(p.Get("firstName").String() + " " + p.Get("lastName").String()))
	}
	u.CreatedAt, _ = normalize.Time(it.Get("created").String())
	if sel.Has(people.Email) {
		u.Email = strings.Clone(p.Get("email").String())
	}
	if sel.Has(people.Phone) {
		u.Phone = strings.Clone(p.Get("mobilePhone").String())
		if u.Phone == "" {
			u.Phone = strings.Clone(p.Get("primaryPhone").String())
		}
	}
	if sel.Has(people.LastLogin) {
		u.LastLogin, _ = normalize.Time(it.Get("lastLogin").String())
		u.UpdatedAt, _ = normalize.Time(it.Get("lastUpdated").String())
	}
	if sel.Has(people.Metadata) {
		o := mesh.NewObject()
		p.ForEach(func(k, v gjson.Result) bool {
			if !notMetadata[k.String()] && !o.Has(k.String()) {
				o.Set(k.String(), []byte(v.Raw))
			}
			return true
		})
		u.Metadata = o.JSON()
	}
	return u.Node(source, sel), nil
}
