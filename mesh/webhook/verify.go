package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Verifier checks that a webhook request comes from its provider.
//
// Verify is given the request and its raw body (read in full, at most Config.MaxBody bytes; the
// request's Body must not be read again). It checks the provider's signature, comparing in constant
// time, and returns what identifies the delivery. A request without the provider's signature gets
// an error wrapping ErrMissingSignature; a wrong or unreadable signature one wrapping
// ErrBadSignature. Errors must not contain the secret or the expected signature.
//
// Verifiers are safe for concurrent use.
type Verifier interface {
	Verify(r *http.Request, body []byte) (Delivery, error)
}

// Delivery is what a verifier learned about an authentic webhook.
type Delivery struct {
	// ID identifies the delivery for replay detection. It must be covered by the signature (the
	// signature itself, or an event id inside the signed body), or a replay could change it. Empty:
	// the handler uses the SHA-256 of the body.
	ID string
	// Signed is the time the provider signed the delivery, or zero when the scheme signs no time.
	// The handler rejects a delivery signed outside Config.ReplayWindow of its clock.
	Signed time.Time
}

// Sentinel errors of verifiers; the handler answers both with 401.
var (
	// ErrMissingSignature means the request carries no signature (or shared secret) at all.
	ErrMissingSignature = errors.New("webhook: missing signature")
	// ErrBadSignature means the signature is malformed or does not match the body and the secret.
	ErrBadSignature = errors.New("webhook: bad signature")
)

// validator is implemented by this package's verifiers: New rejects a verifier built with an empty
// or malformed secret before serving anything.
type validator interface{ validate() error }

// hmacSHA256 returns HMAC-SHA256(secret, parts...).
func hmacSHA256(secret []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, secret)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// header returns the single value of a header: ok is false when it is absent; more than one value
// is an error (a signature must not be ambiguous).
func header(r *http.Request, name string) (string, bool, error) {
	vals := r.Header.Values(name)
	switch len(vals) {
	case 0:
		return "", false, nil
	case 1:
		return strings.TrimSpace(vals[0]), true, nil
	}
	return "", true, fmt.Errorf("%w: %s sent %d times", ErrBadSignature, name, len(vals))
}

func requireHeader(r *http.Request, name string) (string, error) {
	v, ok, err := header(r, name)
	if err != nil {
		return "", err
	}
	if !ok || v == "" {
		return "", fmt.Errorf("%w: no %s header", ErrMissingSignature, name)
	}
	return v, nil
}

// ---- Stripe ----

// Stripe verifies Stripe's webhook signature with the endpoint's signing secret ("whsec_..."):
// the Stripe-Signature header is "t=<unix seconds>,v1=<hex>[,v1=<hex>...]" (other schemes such as
// v0 are ignored) and a v1 value must equal hex(HMAC-SHA256(secret, "<t>.<raw body>")). Stripe sends
// several v1 values while a secret is being rolled; one match is enough. The signed time is t. The
// delivery's ID is the event's "id" (evt_...) from the signed body, so Stripe's retries of one
// event, which it signs again with a new t, count as duplicates.
//
// Source: Stripe's libraries (stripe-ruby lib/stripe/webhook.rb compute_signature/verify_header,
// stripe-java Webhook.Signature) and docs.stripe.com/webhooks/signatures "verify manually".
func Stripe(secret string) Verifier { return &stripeVerifier{secret: []byte(secret)} }

type stripeVerifier struct{ secret []byte }

func (v *stripeVerifier) validate() error {
	if len(v.secret) == 0 {
		return errors.New("stripe: empty signing secret")
	}
	return nil
}

func (v *stripeVerifier) Verify(r *http.Request, body []byte) (Delivery, error) {
	h, err := requireHeader(r, "Stripe-Signature")
	if err != nil {
		return Delivery{}, err
	}
	ts, sigs, err := parseStripeHeader(h)
	if err != nil {
		return Delivery{}, err
	}
	want := hmacSHA256(v.secret, []byte(strconv.FormatInt(ts, 10)), []byte("."), body)
	if !slices.ContainsFunc(sigs, func(s []byte) bool { return hmac.Equal(s, want) }) {
		return Delivery{}, fmt.Errorf("%w: no v1 signature in Stripe-Signature matches", ErrBadSignature)
	}
	id := "sig:" + hex.EncodeToString(want)
	if ev := gjson.GetBytes(body, "id"); ev.Type == gjson.String && ev.Str != "" {
		id = "event:" + ev.Str
	}
	return Delivery{ID: id, Signed: time.Unix(ts, 0)}, nil
}

// parseStripeHeader reads "t=...,v1=...,v1=...": the timestamp and the decoded v1 signatures.
func parseStripeHeader(h string) (int64, [][]byte, error) {
	ts := int64(-1)
	var sigs [][]byte
	for part := range strings.SplitSeq(h, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return 0, nil, fmt.Errorf("%w: Stripe-Signature has a bad timestamp", ErrBadSignature)
			}
			ts = n
		case "v1":
			if b, err := hex.DecodeString(val); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	if ts < 0 || len(sigs) == 0 {
		return 0, nil, fmt.Errorf("%w: Stripe-Signature needs t= and a v1= signature", ErrBadSignature)
	}
	return ts, sigs, nil
}

// ---- Shopify ----

// Shopify verifies Shopify's webhook HMAC with the app's client secret (API secret key): the
// X-Shopify-Hmac-Sha256 header (Shopify-Hmac-Sha256 on Events deliveries) is
// base64(HMAC-SHA256(secret, raw body)). Shopify signs no time, and its X-Shopify-Webhook-Id and
// X-Shopify-Event-Id headers are not signed (a replay could change them), so the delivery's ID is
// the HMAC itself: a replayed or retried body is a duplicate within Config.ReplayWindow, and one
// replayed later than that is not detected.
//
// Source: shopify.dev "Verify webhooks" / "Verify Events deliveries" (HMAC of the raw body, base64,
// client secret) and "Ignore duplicate webhooks".
func Shopify(secret string) Verifier { return &shopifyVerifier{secret: []byte(secret)} }

type shopifyVerifier struct{ secret []byte }

func (v *shopifyVerifier) validate() error {
	if len(v.secret) == 0 {
		return errors.New("shopify: empty client secret")
	}
	return nil
}

func (v *shopifyVerifier) Verify(r *http.Request, body []byte) (Delivery, error) {
	name := "X-Shopify-Hmac-Sha256"
	if _, ok, _ := header(r, name); !ok {
		if _, ok, _ := header(r, "Shopify-Hmac-Sha256"); ok {
			name = "Shopify-Hmac-Sha256"
		}
	}
	h, err := requireHeader(r, name)
	if err != nil {
		return Delivery{}, err
	}
	got, err := base64.StdEncoding.DecodeString(h)
	if err != nil || len(got) != sha256.Size {
		return Delivery{}, fmt.Errorf("%w: %s is not a base64 SHA-256 HMAC", ErrBadSignature, name)
	}
	want := hmacSHA256(v.secret, body)
	if !hmac.Equal(got, want) {
		return Delivery{}, fmt.Errorf("%w: %s does not match the body", ErrBadSignature, name)
	}
	return Delivery{ID: "hmac:" + hex.EncodeToString(want)}, nil
}

// ---- Sanity ----

// Sanity verifies the signature of Sanity's GROQ-powered webhooks with the webhook's secret: the
// sanity-webhook-signature header is "t=<unix milliseconds>,v1=<sig>" and sig must equal
// base64url(HMAC-SHA256(secret, "<t>.<raw body>")), unpadded. The signed time is t; the delivery's ID
// is the signature.
//
// Source: @sanity/webhook (github.com/sanity-io/webhook-toolkit src/signature.ts, its header regular
// expression /^t=(\d+)[, ]+v1=([^, ]+)$/ and its test vectors, which this package's tests replay).
func Sanity(secret string) Verifier { return &sanityVerifier{secret: []byte(secret)} }

type sanityVerifier struct{ secret []byte }

func (v *sanityVerifier) validate() error {
	if len(v.secret) == 0 {
		return errors.New("sanity: empty webhook secret")
	}
	return nil
}

func (v *sanityVerifier) Verify(r *http.Request, body []byte) (Delivery, error) {
	h, err := requireHeader(r, "Sanity-Webhook-Signature")
	if err != nil {
		return Delivery{}, err
	}
	ts, sig, err := parseSanityHeader(h)
	if err != nil {
		return Delivery{}, err
	}
	want := hmacSHA256(v.secret, []byte(strconv.FormatInt(ts, 10)), []byte("."), body)
	if !hmac.Equal(sig, want) {
		return Delivery{}, fmt.Errorf("%w: sanity-webhook-signature does not match the body", ErrBadSignature)
	}
	return Delivery{ID: "sig:" + hex.EncodeToString(want), Signed: time.UnixMilli(ts)}, nil
}

// parseSanityHeader reads "t=<digits>[, ]+v1=<base64url>" (the toolkit's regular expression).
func parseSanityHeader(h string) (int64, []byte, error) {
	bad := fmt.Errorf("%w: sanity-webhook-signature is not t=<ms>,v1=<signature>", ErrBadSignature)
	rest, ok := strings.CutPrefix(h, "t=")
	if !ok {
		return 0, nil, bad
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	digits, rest := rest[:i], rest[i:]
	j := 0
	for j < len(rest) && (rest[j] == ',' || rest[j] == ' ') {
		j++
	}
	if digits == "" || j == 0 {
		return 0, nil, bad
	}
	rest = rest[j:]
	sig, ok := strings.CutPrefix(rest, "v1=")
	if !ok || sig == "" || strings.ContainsAny(sig, ", ") {
		return 0, nil, bad
	}
	ts, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(sig, "="))
	if err != nil || len(raw) != sha256.Size {
		return 0, nil, bad
	}
	return ts, raw, nil
}

// ---- Contentful ----

// Contentful verifies Contentful's webhook request verification with the space's webhook signing
// secret (64 characters). Contentful sends x-contentful-signature (hex), x-contentful-timestamp
// (unix milliseconds) and x-contentful-signed-headers (the comma-separated, lowercase names of the
// signed headers, which include those two). The signature is hex(HMAC-SHA256(secret, canonical)),
// where canonical is
//
//	<METHOD> "\n" <path> "\n" <name>:<value>;<name>:<value>... "\n" <raw body>
//
// with the signed headers' names lowercased and values trimmed, sorted by name, the
// x-contentful-signed-headers value rebuilt as the sorted names joined by ",", and <path> the request
// target as sent (path and query) normalized the way the toolkit does: the query escaped like
// querystring.escape, then the whole encoded like JavaScript's encodeURI. The signed time is the
// timestamp. The delivery's ID is x-contentful-idempotency-key when it is among the signed headers,
// else the signature.
//
// Source: contentful.com/developers/docs/webhooks/request-verification (headers, secret rules),
// and the reference implementation it points to, @contentful/node-apps-toolkit
// src/requests/sign-request.ts, verify-request.ts and utils.ts (canonical form, hex, milliseconds);
// contentful-labs/request-verification-examples shows the same form in ten languages.
func Contentful(secret string) Verifier { return &contentfulVerifier{secret: []byte(secret)} }

type contentfulVerifier struct{ secret []byte }

func (v *contentfulVerifier) validate() error {
	if len(v.secret) != 64 {
		return fmt.Errorf("contentful: the signing secret must be 64 characters, got %d", len(v.secret))
	}
	for _, c := range v.secret {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("+/=_-", c) >= 0) {
			return errors.New("contentful: the signing secret may only hold [0-9a-zA-Z+/=_-]")
		}
	}
	return nil
}

const (
	contentfulSignature     = "x-contentful-signature"
	contentfulSignedHeaders = "x-contentful-signed-headers"
	contentfulTimestamp     = "x-contentful-timestamp"
	contentfulIdempotency   = "x-contentful-idempotency-key"
)

func (v *contentfulVerifier) Verify(r *http.Request, body []byte) (Delivery, error) {
	sigHex, err := requireHeader(r, contentfulSignature)
	if err != nil {
		return Delivery{}, err
	}
	signedList, err := requireHeader(r, contentfulSignedHeaders)
	if err != nil {
		return Delivery{}, err
	}
	tsText, err := requireHeader(r, contentfulTimestamp)
	if err != nil {
		return Delivery{}, err
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return Delivery{}, fmt.Errorf("%w: %s is not a number", ErrBadSignature, contentfulTimestamp)
	}
	got, err := hex.DecodeString(sigHex)
	if err != nil || len(got) != sha256.Size {
		return Delivery{}, fmt.Errorf("%w: %s is not a hex SHA-256 HMAC", ErrBadSignature, contentfulSignature)
	}
	canonical, idKey := contentfulCanonical(r, signedList, ts, body)
	want := hmacSHA256(v.secret, canonical)
	if !hmac.Equal(got, want) {
		return Delivery{}, fmt.Errorf("%w: %s does not match the request", ErrBadSignature, contentfulSignature)
	}
	id := "sig:" + hex.EncodeToString(want)
	if idKey != "" {
		id = "idempotency:" + idKey
	}
	return Delivery{ID: id, Signed: time.UnixMilli(ts)}, nil
}

// contentfulCanonical builds the string Contentful signs, and returns the signed idempotency key.
func contentfulCanonical(r *http.Request, signedList string, ts int64, body []byte) ([]byte, string) {
	type kv struct{ k, v string }
	var hs []kv
	seen := map[string]bool{}
	for name := range strings.SplitSeq(signedList, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" || seen[name] || name == contentfulSignedHeaders || name == contentfulTimestamp {
			continue
		}
		seen[name] = true
		var vals []string
		if name == "host" {
			if r.Host != "" {
				vals = []string{r.Host} // net/http moves Host out of the header map
			}
		} else {
			vals = r.Header.Values(name)
		}
		if len(vals) == 0 {
			continue // the toolkit picks only headers the request has
		}
		hs = append(hs, kv{name, strings.TrimSpace(strings.Join(vals, ", "))})
	}
	// The toolkit always signs these two, with the signed-headers value rebuilt from the names.
	hs = append(hs, kv{contentfulTimestamp, strconv.FormatInt(ts, 10)})
	names := make([]string, 0, len(hs)+1)
	for _, h := range hs {
		names = append(names, h.k)
	}
	names = append(names, contentfulSignedHeaders)
	slices.Sort(names)
	hs = append(hs, kv{contentfulSignedHeaders, strings.Join(names, ",")})
	slices.SortFunc(hs, func(a, b kv) int { return strings.Compare(a.k, b.k) })

	var idKey string
	var buf []byte
	buf = append(buf, r.Method...)
	buf = append(buf, '\n')
	buf = append(buf, contentfulPath(requestTarget(r))...)
	buf = append(buf, '\n')
	for i, h := range hs {
		if i > 0 {
			buf = append(buf, ';')
		}
		buf = append(buf, h.k...)
		buf = append(buf, ':')
		buf = append(buf, h.v...)
		if h.k == contentfulIdempotency {
			idKey = h.v
		}
	}
	buf = append(buf, '\n')
	buf = append(buf, body...)
	return buf, idKey
}

// requestTarget is the path and query as the client sent them.
func requestTarget(r *http.Request) string {
	if t := r.RequestURI; t != "" {
		if strings.HasPrefix(t, "/") {
			return t
		}
		if u, err := url.Parse(t); err == nil { // absolute form
			return u.RequestURI()
		}
	}
	return r.URL.RequestURI()
}

// contentfulPath is the toolkit's getNormalizedEncodedURI: split at "?" (a second "?" and what
// follows it are dropped, as JavaScript's destructuring of split does), escape the query like
// querystring.escape, and encode the whole like encodeURI.
func contentfulPath(target string) string {
	parts := strings.Split(target, "?")
	s := parts[0]
	if len(parts) > 1 && parts[1] != "" {
		s += "?" + percentEncode(parts[1], componentSafe)
	}
	return percentEncode(s, uriSafe)
}

const (
	// componentSafe are the bytes encodeURIComponent and querystring.escape leave alone.
	componentSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()"
	// uriSafe are the bytes encodeURI leaves alone.
	uriSafe = componentSafe + ";,/?:@&=+$#"
)

func percentEncode(s, safe string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(safe, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// ---- shared secrets ----

// SharedSecret verifies providers that sign nothing but send a configured header with a secret
// value: the header named header must equal secret exactly (compared in constant time, lengths
// included). Such a scheme signs neither the body nor a time, so it cannot tell a replay from a new
// delivery: identical bodies within Config.ReplayWindow count as duplicates, nothing more.
func SharedSecret(header, secret string) Verifier {
	return &sharedVerifier{header: http.CanonicalHeaderKey(header), secret: sha256.Sum256([]byte(secret)), set: secret != ""}
}

// Strapi verifies Strapi webhooks. Strapi signs nothing; its webhooks send the headers configured
// for them (in the admin panel, or server.webhooks.defaultHeaders), and its documentation secures
// them with "Authorization: Bearer <token>". Strapi(token) expects exactly that header; for another
// header use SharedSecret.
//
// Source: docs.strapi.io/cms/backend-customization/webhooks ("Securing your webhooks").
func Strapi(token string) Verifier {
	if token == "" {
		return &sharedVerifier{header: "Authorization"}
	}
	return SharedSecret("Authorization", "Bearer "+token)
}

type sharedVerifier struct {
	header string
	secret [sha256.Size]byte
	set    bool
}

func (v *sharedVerifier) validate() error {
	if v.header == "" {
		return errors.New("shared secret: empty header name")
	}
	if !v.set {
		return fmt.Errorf("shared secret: empty secret for header %s", v.header)
	}
	return nil
}

func (v *sharedVerifier) Verify(r *http.Request, body []byte) (Delivery, error) {
	got, err := requireHeader(r, v.header)
	if err != nil {
		return Delivery{}, err
	}
	// Comparing digests keeps the secret's length out of the timing too.
	sum := sha256.Sum256([]byte(got))
	if !hmac.Equal(sum[:], v.secret[:]) {
		return Delivery{}, fmt.Errorf("%w: wrong %s", ErrBadSignature, v.header)
	}
	return Delivery{}, nil
}
