package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Test-side signers, written from each provider's documented algorithm (see the verifiers' doc
// comments for the sources) and cross-checked against the providers' own libraries by
// TestVectors: what a provider would send for body at time at.

func mac(secret string, parts ...string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func signStripe(secret string, body []byte, at time.Time) http.Header {
	t := strconv.FormatInt(at.Unix(), 10)
	h := http.Header{}
	h.Set("Stripe-Signature", "t="+t+",v1="+hex.EncodeToString(mac(secret, t, ".", string(body))))
	return h
}

func signShopify(secret string, body []byte, _ time.Time) http.Header {
	h := http.Header{}
	h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac(secret, string(body))))
	h.Set("X-Shopify-Topic", "products/update")
	return h
}

func signSanity(secret string, body []byte, at time.Time) http.Header {
	t := strconv.FormatInt(at.UnixMilli(), 10)
	h := http.Header{}
	h.Set("Sanity-Webhook-Signature", "t="+t+",v1="+base64.RawURLEncoding.EncodeToString(mac(secret, t, ".", string(body))))
	return h
}

// signContentful follows sign-request.ts for a POST to path (no characters that need escaping):
// the given headers plus the timestamp and the signed-headers list, lowercased, sorted, "k:v"
// joined by ";", then method, path, headers and body joined by newlines, HMAC-SHA256 in hex.
func signContentful(secret, path string, extra map[string]string, body []byte, at time.Time) http.Header {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	hs := map[string]string{}
	for k, v := range extra {
		hs[strings.ToLower(k)] = v
	}
	hs["x-contentful-timestamp"] = ts
	var names []string
	for k := range hs {
		names = append(names, k)
	}
	names = append(names, "x-contentful-signed-headers")
	sort.Strings(names)
	hs["x-contentful-signed-headers"] = strings.Join(names, ",")
	var pairs []string
	for _, k := range names {
		pairs = append(pairs, k+":"+hs[k])
	}
	canonical := strings.Join([]string{"POST", path, strings.Join(pairs, ";"), string(body)}, "\n")
	h := http.Header{}
	for k, v := range extra {
		h.Set(k, v)
	}
	h.Set("X-Contentful-Timestamp", ts)
	h.Set("X-Contentful-Signed-Headers", hs["x-contentful-signed-headers"])
	h.Set("X-Contentful-Signature", hex.EncodeToString(mac(secret, canonical)))
	return h
}
