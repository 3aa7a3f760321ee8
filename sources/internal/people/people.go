// Package people is the privacy layer shared by the auth adapters (auth0, clerk, okta, ory): the
// normalized User, Organization and Role nodes of DESIGN section 3, and the one place that decides
// which personal data may leave the provider.
//
// A built site is public. An adapter reads what it needs into a User and hands it to User.Node with
// the Selection parsed from the source's `fields:` key; User.Node writes the public profile (display
// name, username, avatar, creation time, roles, organizations) and, of the personal fields (email,
// phone, last login, metadata, last IP), exactly those the selection lists. Keeping the rule in one
// function means the four adapters cannot drift apart on it.
//
// Public fields are also guarded against personal data that providers copy into them: a display name
// or username that is an email address or a phone number (Auth0 names passwordless users after their
// email or phone, Okta logins are usually emails) is left out, and so is one equal to the user's own
// email or phone. A user's update time moves when they sign in at some providers (Auth0 updates
// updated_at on every login), so it reveals the last login: Node.UpdatedAt is set only when lastLogin
// is selected.
package people

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
)

// Normalized names of the personal fields a `fields:` list may hold. Each adapter accepts the subset
// its provider has (see its package documentation).
const (
	// Email is the user's primary email address.
	Email = "email"
	// Phone is the user's primary phone number.
	Phone = "phone"
	// LastLogin is the time of the user's last sign-in (RFC 3339 UTC).
	LastLogin = "lastLogin"
	// Metadata is the provider's metadata objects (which ones is per adapter).
	Metadata = "metadata"
	// LastIP is the IP address of the user's last sign-in. It is never sent unless listed by this
	// exact name: "all personal fields" shortcuts do not exist.
	LastIP = "lastIp"
)

// Node types and the namespaces of their IDs.
const (
	TypeUser         = "User"
	TypeOrganization = "Organization"
	TypeRole         = "Role"

	NamespaceUser         = "user"
	NamespaceOrganization = "organization"
	NamespaceRole         = "role"
)

// Selection is the set of personal fields a source's configuration asked for. The zero value selects
// nothing: only the public profile leaves the provider.
type Selection struct {
	names map[string]bool
	paths []string // extra paths (ory traits), sorted
}

// pathRE is a path of plain keys separated by dots: what ory accepts as a trait path.
var pathRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// Parse validates a `fields:` list. known lists the normalized names the adapter supports, each with
// the reason when it is not available (an empty reason means supported). With pathPrefix set (ory's
// "traits."), any other name that is a plain dotted path is accepted as a path under that prefix (the
// prefix itself is optional in the list and stripped); otherwise an unknown name is an error naming
// it and listing the known ones. Every error wraps mesh.ErrInvalidConfig and names the key.
func Parse(kind string, fields []string, known map[string]string, pathPrefix string) (Selection, error) {
	bad := func(format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("%s: key %q", kind, "fields"), Msg: fmt.Sprintf(format, args...)}
	}
	var supported, all []string
	for name, why := range known {
		all = append(all, name)
		if why == "" {
			supported = append(supported, name)
		}
	}
	slices.Sort(supported)
	slices.Sort(all)
	sel := Selection{names: map[string]bool{}}
	for i, f := range fields {
		name := strings.TrimSpace(f)
		if name == "" {
			return Selection{}, bad("entry %d is empty", i)
		}
		if why, ok := known[name]; ok {
			if why != "" {
				return Selection{}, bad("%q is not available from %s: %s", name, kind, why)
			}
			sel.names[name] = true
			continue
		}
		if pathPrefix != "" {
			p := strings.TrimPrefix(name, pathPrefix)
			if !pathRE.MatchString(p) {
				return Selection{}, bad("%q: want one of %s, or a trait path of plain keys separated by dots (e.g. name.first)",
					name, strings.Join(supported, ", "))
			}
			if !slices.Contains(sel.paths, p) {
				sel.paths = append(sel.paths, p)
			}
			continue
		}
		if alt := suggest(name, all); alt != "" {
			return Selection{}, bad("unknown field %q (did you mean %q?); known: %s", name, alt, strings.Join(supported, ", "))
		}
		return Selection{}, bad("unknown field %q; known: %s", name, strings.Join(supported, ", "))
	}
	slices.Sort(sel.paths)
	return sel, nil
}

// suggest returns the known name equal to name up to case and separators, if any ("last_login" for
// "lastLogin").
func suggest(name string, known []string) string {
	squash := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '_' || r == '-' || r == ' ' {
				return -1
			}
			return unicode.ToLower(r)
		}, s)
	}
	for _, k := range known {
		if squash(k) == squash(name) {
			return k
		}
	}
	return ""
}

// Has reports whether the personal field name is selected.
func (s Selection) Has(name string) bool { return s.names[name] }

// Paths returns the selected extra paths (ory traits), sorted, without their prefix.
func (s Selection) Paths() []string { return slices.Clone(s.paths) }

// HasPath reports whether the extra path p is selected.
func (s Selection) HasPath(p string) bool { return slices.Contains(s.paths, p) }

// String lists the selection, for logs: it holds field names, never values.
func (s Selection) String() string {
	var names []string
	for n := range s.names {
		names = append(names, n)
	}
	slices.Sort(names)
	names = append(names, s.paths...)
	return "[" + strings.Join(names, " ") + "]"
}

// Membership is a user's membership of one organization, with the roles held in it (Auth0 organization
// member roles, Clerk organization roles).
type Membership struct {
	// Organization is the organization's node ID.
	Organization string
	// Roles are node IDs of the roles held in that organization.
	Roles []string
}

// User is what an adapter read about one user. The adapter fills what its provider has; Node decides
// what is written.
type User struct {
	// NativeID is the provider's user id.
	NativeID string

	// Public profile.
	DisplayName string
	Username    string
	AvatarURL   string
	CreatedAt   time.Time
	// Roles and Organizations are node IDs; they are written sorted and without duplicates.
	Roles         []string
	Organizations []string
	// Memberships, when the provider has organization-scoped roles, are written as
	// "memberships": [{"organization": {"$ref"}, "roles": [{"$ref"}]}], sorted by organization.
	Memberships []Membership
	// HasMemberships writes "memberships" even when empty (the provider has organizations).
	HasMemberships bool

	// Personal data: written only when selected.
	Email     string
	Phone     string
	LastLogin time.Time
	LastIP    string
	// Metadata is a JSON object (or null); nil when the provider has none.
	Metadata json.RawMessage
	// UpdatedAt is the provider's update time; it becomes Node.UpdatedAt only when lastLogin is
	// selected (see the package documentation).
	UpdatedAt time.Time

	// Extra, when set, adds adapter-specific fields (ory's selected traits). It runs after the fields
	// above and may only add what the selection allows.
	Extra func(*mesh.Object)
}

// UserID returns the node ID of the user with the given native id.
func UserID(source, nativeID string) string {
	return mesh.NodeID(source, NamespaceUser, nativeID)
}

// OrganizationID returns the node ID of an organization.
func OrganizationID(source, nativeID string) string {
	return mesh.NodeID(source, NamespaceOrganization, nativeID)
}

// RoleID returns the node ID of a role.
func RoleID(source, nativeID string) string {
	return mesh.NodeID(source, NamespaceRole, nativeID)
}

// Node returns the User node: the public profile always (null where unknown, so every User has the
// same keys), and the personal fields the selection lists (null where the provider has no value).
func (u *User) Node(source string, sel Selection) mesh.Node {
	o := mesh.NewObject()
	setPublicString(o, "displayName", u.DisplayName, u)
	setPublicString(o, "username", u.Username, u)
	setString(o, "avatarUrl", u.AvatarURL)
	setTime(o, "createdAt", u.CreatedAt)
	o.SetRefs("roles", sortedUnique(u.Roles))
	o.SetRefs("organizations", sortedUnique(u.Organizations))
	if u.HasMemberships || len(u.Memberships) > 0 {
		o.Set("memberships", membershipsJSON(u.Memberships))
	}
	if sel.Has(Email) {
		setString(o, "email", u.Email)
	}
	if sel.Has(Phone) {
		setString(o, "phone", u.Phone)
	}
	if sel.Has(LastLogin) {
		setTime(o, "lastLogin", u.LastLogin)
	}
	if sel.Has(LastIP) {
		setString(o, "lastIp", u.LastIP)
	}
	if sel.Has(Metadata) {
		if len(u.Metadata) > 0 {
			o.Set("metadata", u.Metadata)
		} else {
			o.SetNull("metadata")
		}
	}
	if u.Extra != nil {
		u.Extra(o)
	}
	n := mesh.Node{ID: UserID(source, u.NativeID), Type: TypeUser, NativeID: u.NativeID, Fields: o.JSON()}
	if sel.Has(LastLogin) {
		n.UpdatedAt = u.UpdatedAt
	}
	return n
}

// setPublicString writes a public name, unless it is personal data in disguise: an email address, a
// phone number, or the user's own email or phone.
func setPublicString(o *mesh.Object, key, v string, u *User) {
	if v == "" || LooksPersonal(v) || (u.Email != "" && strings.EqualFold(v, u.Email)) || (u.Phone != "" && v == u.Phone) {
		o.SetNull(key)
		return
	}
	o.SetString(key, v)
}

var emailRE = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)

// LooksPersonal reports whether a value meant as a public name is an email address or a phone
// number: something with an "@" between a local part and a dotted domain, or only digits, spaces and
// +-(). with at least 7 digits.
func LooksPersonal(s string) bool {
	s = strings.TrimSpace(s)
	if emailRE.MatchString(s) {
		return true
	}
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +-().", r):
		default:
			return false
		}
	}
	return digits >= 7
}

func membershipsJSON(ms []Membership) []byte {
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b Membership) int { return strings.Compare(a.Organization, b.Organization) })
	b := []byte{'['}
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"organization":`...)
		b = mesh.AppendRef(b, m.Organization)
		b = append(b, `,"roles":[`...)
		for j, r := range sortedUnique(m.Roles) {
			if j > 0 {
				b = append(b, ',')
			}
			b = mesh.AppendRef(b, r)
		}
		b = append(b, "]}"...)
	}
	return append(b, ']')
}

// Organization is what an adapter read about one organization.
type Organization struct {
	NativeID  string
	Name      string
	Slug      string
	LogoURL   string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Metadata is written only when metadata is selected.
	Metadata json.RawMessage
}

// Node returns the Organization node: name, slug, logoUrl (null where unknown), createdAt when known,
// and metadata when selected.
func (g *Organization) Node(source string, sel Selection) mesh.Node {
	o := mesh.NewObject()
	setString(o, "name", g.Name)
	setString(o, "slug", g.Slug)
	setString(o, "logoUrl", g.LogoURL)
	if !g.CreatedAt.IsZero() {
		setTime(o, "createdAt", g.CreatedAt)
	}
	if sel.Has(Metadata) {
		if len(g.Metadata) > 0 {
			o.Set("metadata", g.Metadata)
		} else {
			o.SetNull("metadata")
		}
	}
	return mesh.Node{ID: OrganizationID(source, g.NativeID), Type: TypeOrganization, NativeID: g.NativeID,
		UpdatedAt: g.UpdatedAt, Fields: o.JSON()}
}

// Role is what an adapter read about one role (an Okta group, an Auth0 role, a Clerk organization
// role).
type Role struct {
	NativeID    string
	Name        string
	Description string
	UpdatedAt   time.Time
}

// Node returns the Role node: name and description (null where unknown).
func (r *Role) Node(source string) mesh.Node {
	o := mesh.NewObject()
	setString(o, "name", r.Name)
	setString(o, "description", r.Description)
	return mesh.Node{ID: RoleID(source, r.NativeID), Type: TypeRole, NativeID: r.NativeID, UpdatedAt: r.UpdatedAt,
		Fields: o.JSON()}
}

func setString(o *mesh.Object, key, v string) {
	if v == "" {
		o.SetNull(key)
		return
	}
	o.SetString(key, v)
}

func setTime(o *mesh.Object, key string, t time.Time) {
	if t.IsZero() {
		o.SetNull(key)
		return
	}
	o.SetString(key, t.UTC().Format(time.RFC3339Nano))
}

func sortedUnique(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// Pick returns a JSON object holding only the given paths of obj (plain dotted paths), nested as in
// obj: Pick({"name":{"first":"A","last":"B"},"email":"x"}, ["name.first"]) is {"name":{"first":"A"}}.
// Paths missing from obj are left out; ok is false when none was found. A path inside another
// selected path is covered by the outer one.
func Pick(obj gjson.Result, paths []string) (out json.RawMessage, ok bool) {
	root := &pickNode{}
	for _, p := range paths {
		v := obj.Get(escapePath(p))
		if !v.Exists() {
			continue
		}
		root.put(strings.Split(p, "."), v.Raw)
		ok = true
	}
	if !ok {
		return nil, false
	}
	return root.appendJSON(nil), true
}

// escapePath makes a plain dotted path safe for gjson: every character gjson treats specially is
// escaped, the dots between keys are kept.
func escapePath(p string) string {
	parts := strings.Split(p, ".")
	for i, s := range parts {
		parts[i] = gjson.Escape(s)
	}
	return strings.Join(parts, ".")
}

type pickNode struct {
	raw      string // a leaf's JSON value; "" for an inner node
	keys     []string
	children map[string]*pickNode
}

func (n *pickNode) put(path []string, raw string) {
	if n.raw != "" {
		return // an enclosing path is already selected whole
	}
	if len(path) == 0 {
		n.raw, n.keys, n.children = raw, nil, nil
		return
	}
	if n.children == nil {
		n.children = map[string]*pickNode{}
	}
	c, ok := n.children[path[0]]
	if !ok {
		c = &pickNode{}
		n.children[path[0]] = c
		n.keys = append(n.keys, path[0])
	}
	c.put(path[1:], raw)
}

func (n *pickNode) appendJSON(b []byte) []byte {
	if n.raw != "" {
		return append(b, n.raw...)
	}
	b = append(b, '{')
	keys := slices.Clone(n.keys)
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = mesh.AppendString(b, k)
		b = append(b, ':')
		b = n.children[k].appendJSON(b)
	}
	return append(b, '}')
}

// Out wraps the Emitter of one Fetch: it remembers the Emitter's first error, so that Fetch can
// return it unchanged after a pagination helper has wrapped it (the Source contract). It is safe for
// concurrent use.
type Out struct {
	mesh.Emitter
	mu  sync.Mutex
	err error
}

// NewOut wraps out.
func NewOut(out mesh.Emitter) *Out { return &Out{Emitter: out} }

// Upsert emits n, remembering the Emitter's error.
func (o *Out) Upsert(n mesh.Node) error {
	err := o.Emitter.Upsert(n)
	if err != nil {
		o.mu.Lock()
		if o.err == nil {
			o.err = err
		}
		o.mu.Unlock()
	}
	return err
}

// FetchError is what a Fetch that failed with err returns: the Emitter's error unchanged, the
// context's error when the context ended, or err prefixed with the adapter's kind.
func (o *Out) FetchError(ctx context.Context, kind string, err error) error {
	o.mu.Lock()
	emitErr := o.err
	o.mu.Unlock()
	if emitErr != nil {
		return emitErr
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return ctxErr
	}
	return fmt.Errorf("%s: %w", kind, err)
}

// FanOut runs fn for each id, at most limit at once (at least 1), and returns the first error after
// every call has returned. No goroutine outlives it.
func FanOut(ctx context.Context, limit int, ids []string, fn func(ctx context.Context, id string) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(limit, 1))
	for _, id := range ids {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(gctx, id) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// SafeHost returns a fetch Config.Auth that sets credentials with set only on requests to one of
// hosts, and fails any other: a Link header or a next URL naming another host must not receive the
// token.
func SafeHost(set func(*http.Request) error, hosts ...string) func(*http.Request) error {
	return func(r *http.Request) error {
		for _, h := range hosts {
			if strings.EqualFold(r.URL.Host, h) {
				return set(r)
			}
		}
		return fmt.Errorf("refusing to send the credentials to %s, which is not %s", r.URL.Host, strings.Join(hosts, " or "))
	}
}
