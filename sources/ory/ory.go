// Package ory is a mesh.Source for the identities of Ory Kratos (self-hosted) or an Ory Network
// project, read through the admin API, as the normalized User nodes, with Role and Organization nodes
// for what identities point at. A built site is public, and an identity's traits are whatever its
// schema says: no trait leaves unless the configuration lists it.
//
// # Configuration
//
//	sources:
//	  - name: people
//	    type: ory
//	    adminUrl: http://127.0.0.1:4434          # Kratos' admin API; Ory Network: https://<slug>.projects.oryapis.com
//	    token: ${ORY_API_KEY}                    # Ory Network project API key (ory_pat_...); none for self-hosted Kratos
//	    fields: [name, username, picture]        # traits and personal data to include (default: none)
//	    baseURL: http://127.0.0.1:9000           # optional: replaces adminUrl (tests, proxies)
//	    timeout: 30s                             # and the other mesh/fetch options
//
// fields lists what may leave, by name:
//
//	email      the first email verifiable address, else the email trait     -> "email"
//	phone      the first sms verifiable address, else the phone trait       -> "phone"
//	metadata   metadata_public                                              -> "metadata"
//	<path>     a trait path such as name, name.first or address.city        -> "traits": {...}
//	           ("traits." in front is optional: traits.email is the trait, not the normalized email)
//
// lastLogin and lastIp are refused (identities carry neither). metadata_admin never leaves, even with
// metadata listed: it is the admin-only store. Traits not listed never leave, and are not read.
//
// # Authentication
//
// Self-hosted Kratos' admin API has no authentication (keep it off the network; here it is reached
// on 127.0.0.1). Ory Network takes a project API key, sent as Authorization: Bearer only to the
// configured host; it never appears in errors, logs or outputs.
//
// # Rate limits
//
// None for self-hosted Kratos. Ory Network rate-limits projects and answers 429, which mesh/fetch
// retries (Retry-After when sent, else exponential backoff) up to retries. Pages are fetched one
// after the other: each names the next.
//
// # Mapping
//
//	Ory                                   node
//	identity                              User          people/user/<id>
//	metadata_public.roles[] (strings)     Role          people/role/<role>
//	organization_id (Ory Network B2B)     Organization  people/organization/<id>
//
// User fields: createdAt (created_at), roles ($refs, from metadata_public.roles: a common convention,
// read even when metadata is not listed, since roles are public), organizations ($refs, from
// organization_id), traits (the listed trait paths, nested as in the identity, when any is listed),
// and the public profile from listed traits by convention: displayName from the first listed of
// displayName, display_name, name (a string, or an object joining first/given and last/family),
// fullName, full_name (or from name.first and name.last when those are listed); username from
// username, nickname or handle; avatarUrl from picture, avatar, avatarUrl, avatar_url or image. A
// displayName or username that is an email address or a phone number is left out. With no trait
// listed, a User holds createdAt, roles and organizations only. The node's updatedAt is not set.
// Role: name (the role string), description null. Organization: name, slug and logoUrl null (the
// identities API names no organization). Identities of every state (active, inactive) are listed.
//
// Listing: GET /admin/identities?page_size=250, then the Link header's rel="next" (keyset paging
// with page_token; Kratos sends one Link header with comma-separated links and relative URLs) until
// a page has none.
//
// # Incremental sync
//
// None: every build fetches everything. The admin API has no updated-since filter and no list of
// deleted identities.
package ory

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
	"github.com/contentmesh/contentmesh/sources/internal/people"
)

// Kind is the adapter's name, the config's `type: ory`.
const Kind = "ory"

// Config configures an Ory Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// AdminURL is the admin API's origin: Kratos' admin port, or an Ory Network project's URL.
	AdminURL string `yaml:"adminUrl"`
	// Token is an Ory Network project API key; empty for self-hosted Kratos. String, GoString and
	// LogValue redact it.
	Token string `yaml:"token,omitempty"`
	// Fields lists the traits and personal data to include (see the package documentation).
	Fields []string `yaml:"fields,omitempty"`
	// BaseURL, when set, replaces adminUrl (a test server or a proxy).
	BaseURL string `yaml:"baseURL,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// String describes the configuration without its secret.
func (c Config) String() string {
	tok := ""
	if c.Token != "" {
		tok = fetch.Redacted
	}
	return fmt.Sprintf("ory.Config{AdminURL:%q Token:%s Fields:%q BaseURL:%q}", c.AdminURL, tok, c.Fields, c.BaseURL)
}

// GoString is String, so that %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the token.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads the identities of a Kratos admin API. It is safe for concurrent use.
type Source struct {
	cfg    Config
	sel    people.Selection
	client *fetch.Client
	host   string
	// The traits to read for the public profile, decided once from the selection.
	profile profileTraits
}

// profileTraits are the listed traits that fill the public profile, in order of preference.
type profileTraits struct {
	names, usernames, avatars []string
	firstLast                 []string // name.first, name.last, ... when listed on their own
}

var (
	_ mesh.Source  = (*Source)(nil)
	_ mesh.Checker = (*Source)(nil)
)

// New validates cfg and returns a Source. It does no I/O and starts no goroutine. Errors wrap
// mesh.ErrInvalidConfig and name the key.
func New(cfg Config) (*Source, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("ory: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	parse := func(key, raw string) (*url.URL, error) {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return nil, bad(key, "want an http or https URL such as http://127.0.0.1:4434, got %s", fetch.RedactURLString(raw, nil))
		}
		return u, nil
	}
	if cfg.AdminURL == "" {
		return nil, bad("adminUrl", "required: the admin API's URL, e.g. http://127.0.0.1:4434 or https://<slug>.projects.oryapis.com")
	}
	base, err := parse("adminUrl", cfg.AdminURL)
	if err != nil {
		return nil, err
	}
	if cfg.BaseURL != "" {
		if base, err = parse("baseURL", cfg.BaseURL); err != nil {
			return nil, err
		}
	}
	if strings.ContainsAny(cfg.Token, "\r\n\x00 ") {
		return nil, bad("token", "has a space or a line break")
	}
	sel, err := people.Parse(Kind, cfg.Fields, knownFields, traitPrefix)
	if err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg, sel: sel, host: base.Host, profile: profileFrom(sel)}
	token := cfg.Token
	s.client, err = fetch.New(fetch.Config{
		Source:  Kind,
		BaseURL: strings.TrimSuffix(base.String(), "/"),
		Auth: people.SafeHost(func(r *http.Request) error {
			if token != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
			return nil
		}, base.Host),
		ErrorMessage: errorMessage,
	}, cfg.Options)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// profileFrom picks, among the listed traits, those that fill the public profile.
func profileFrom(sel people.Selection) profileTraits {
	var p profileTraits
	pick := func(names []string) []string {
		var out []string
		for _, n := range names {
			if sel.HasPath(n) {
				out = append(out, n)
			}
		}
		return out
	}
	p.names, p.usernames, p.avatars = pick(nameTraits), pick(usernameTraits), pick(avatarTraits)
	for _, k := range append(slices.Clone(firstKeys), lastKeys...) {
		if sel.HasPath("name." + k) {
			p.firstLast = append(p.firstLast, "name."+k)
		}
	}
	return p
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// String describes the source without its secret.
func (s *Source) String() string { return "ory " + s.host + " fields " + s.sel.String() }

// Check implements mesh.Checker: it reads one identity.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	if _, err := s.client.DoJSON(ctx, &fetch.Request{URL: pathIdentities, Query: url.Values{"page_size": {"1"}}}); err != nil {
		return fmt.Errorf("ory: %w", err)
	}
	return nil
}

// Fetch implements mesh.Source: it follows the identities listing and emits a User per identity, and
// a Role or Organization node the first time one is referenced.
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	size := defaultPageSize
	if req.PageSize > 0 {
		size = min(req.PageSize, maxPageSize)
	}
	o := people.NewOut(out)
	seen := map[string]bool{} // role and organization node IDs emitted
	err := s.client.FollowLinks(ctx, &fetch.Request{URL: pathIdentities, Query: url.Values{"page_size": {strconv.Itoa(size)}}},
		func(_ int, r *fetch.Response) error {
			nodes, err := s.decodePage(req.Source, r.Body)
			if err != nil {
				return fmt.Errorf("%s: %w", r.URL, err)
			}
			for _, n := range nodes {
				if n.Type != people.TypeUser {
					if seen[n.ID] {
						continue
					}
					seen[n.ID] = true
				}
				if err := o.Upsert(n); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return mesh.FetchResult{}, o.FetchError(ctx, Kind, fmt.Errorf("list identities: %w", err))
	}
	return mesh.FetchResult{}, nil
}

// decodePage maps a page of identities (a bare array) to nodes: each identity's User, preceded by the
// Role and Organization nodes it references (repeated across identities; Fetch emits each once).
func (s *Source) decodePage(source string, body []byte) ([]mesh.Node, error) {
	page := gjson.ParseBytes(body)
	if !page.IsArray() {
		return nil, fmt.Errorf("%w: want an array of identities", mesh.ErrBadResponse)
	}
	var nodes []mesh.Node
	for i, it := range page.Array() {
		ns, err := s.decodeIdentity(source, it)
		if err != nil {
			return nil, fmt.Errorf("identity %d: %w", i, err)
		}
		nodes = append(nodes, ns...)
	}
	return nodes, nil
}

// decodeIdentity maps one identity. Traits are read only when listed.
func (s *Source) decodeIdentity(source string, it gjson.Result) ([]mesh.Node, error) {
	id := it.Get("id")
	if !it.IsObject() || id.Type != gjson.String || id.Str == "" {
		return nil, fmt.Errorf("%w: no id", mesh.ErrBadResponse)
	}
	traits := it.Get("traits")
	u := &people.User{NativeID: strings.Clone(id.Str)}
	u.CreatedAt, _ = normalize.Time(it.Get("created_at").String())
	u.DisplayName = s.displayName(traits)
	u.Username = firstString(traits, s.profile.usernames)
	u.AvatarURL = firstString(traits, s.profile.avatars)
	var nodes []mesh.Node
	for _, r := range it.Get("metadata_public.roles").Array() {
		if r.Type != gjson.String || strings.TrimSpace(r.Str) == "" {
			continue
		}
		role := people.Role{NativeID: strings.Clone(r.Str), Name: strings.Clone(r.Str)}
		u.Roles = append(u.Roles, people.RoleID(source, role.NativeID))
		nodes = append(nodes, role.Node(source))
	}
	if org := it.Get("organization_id"); org.Type == gjson.String && org.Str != "" {
		o := people.Organization{NativeID: strings.Clone(org.Str)}
		u.Organizations = append(u.Organizations, people.OrganizationID(source, o.NativeID))
		nodes = append(nodes, o.Node(source, s.sel))
	}
	if s.sel.Has(people.Email) {
		u.Email = address(it, "email", traits, emailTraits)
	}
	if s.sel.Has(people.Phone) {
		u.Phone = address(it, "sms", traits, phoneTraits)
	}
	if s.sel.Has(people.Metadata) {
		if md := it.Get("metadata_public"); md.IsObject() {
			u.Metadata = []byte(md.Raw)
		}
	}
	if paths := s.sel.Paths(); len(paths) > 0 {
		picked, ok := people.Pick(traits, paths)
		u.Extra = func(o *mesh.Object) {
			if ok {
				o.Set("traits", picked)
			} else {
				o.Set("traits", []byte("{}"))
			}
		}
	}
	return append(nodes, u.Node(source, s.sel)), nil
}

// displayName reads the display name from the listed name traits.
func (s *Source) displayName(traits gjson.Result) string {
	for _, p := range s.profile.names {
		v := traits.Get(p)
		switch {
		case v.Type == gjson.String && strings.TrimSpace(v.Str) != "":
			return strings.Clone(strings.TrimSpace(v.Str))
		case v.IsObject():
			if n := joinName(firstString(v, firstKeys), firstString(v, lastKeys)); n != "" {
				return n
			}
		}
	}
	var first, last string
	for _, p := range s.profile.firstLast {
		k := strings.TrimPrefix(p, "name.")
		v := traits.Get("name").Get(k)
		if v.Type != gjson.String {
			continue
		}
		if slices.Contains(firstKeys, k) && first == "" {
			first = v.Str
		} else if slices.Contains(lastKeys, k) && last == "" {
			last = v.Str
		}
	}
	return joinName(first, last)
}

func joinName(first, last string) string {
	return strings.Clone(strings.TrimSpace(strings.TrimSpace(first) + " " + strings.TrimSpace(last)))
}

// firstString returns the first of keys of obj that holds a non-empty string.
func firstString(obj gjson.Result, keys []string) string {
	for _, k := range keys {
		if v := obj.Get(gjson.Escape(k)); v.Type == gjson.String && strings.TrimSpace(v.Str) != "" {
			return strings.Clone(strings.TrimSpace(v.Str))
		}
	}
	return ""
}

// address returns the first verifiable address sent via via (email, sms), else the first of the
// traits holding a string.
func address(it gjson.Result, via string, traits gjson.Result, traitNames []string) string {
	for _, a := range it.Get("verifiable_addresses").Array() {
		if a.Get("via").String() == via {
			if v := a.Get("value").String(); v != "" {
				return strings.Clone(v)
			}
		}
	}
	return firstString(traits, traitNames)
}
