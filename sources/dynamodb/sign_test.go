package dynamodb

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The AWS Signature Version 4 test suite's credentials, scope and time.
const (
	vectorKeyID  = "AKIDEXAMPLE"
	vectorSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var vectorTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

// TestSigV4Vectors signs requests of AWS's Signature Version 4 test suite (service "service",
// region us-east-1) and compares with the published Authorization headers; the fake's verifier must
// accept them, and reject them when anything signed is changed.
func TestSigV4Vectors(t *testing.T) {
	const scope = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	tests := []struct {
		name, method, url, contentType, body string
		want                                 string
	}{
		{name: "get-vanilla", method: "GET", url: "https://example.amazonaws.com/",
			want: scope + "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{name: "post-vanilla", method: "POST", url: "https://example.amazonaws.com/",
			want: scope + "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
		{name: "post-x-www-form-urlencoded", method: "POST", url: "https://example.amazonaws.com/",
			contentType: "application/x-www-form-urlencoded", body: "Param1=value1",
			want: scope + "SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
		{name: "get-vanilla-query-order-key-case", method: "GET", url: "https://example.amazonaws.com/?Param2=value2&Param1=value1",
			want: scope + "SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSigner(vectorKeyID, vectorSecret, "", "us-east-1")
			s.service = "service"
			s.now = func() time.Time { return vectorTime }
			var body *strings.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequest(tt.method, tt.url, nil)
			if body != nil {
				req, err = http.NewRequest(tt.method, tt.url, body)
				// The 2015 suite signs no Content-Length; the signer signs it when the length is known.
				// An unknown length keeps the vector's canonical request; the body is still hashed.
				req.ContentLength = 0
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if err := s.sign(req); err != nil {
				t.Fatal(err)
			}
			if got := req.Header.Get("Authorization"); got != tt.want {
				t.Errorf("Authorization\n got %s\nwant %s", got, tt.want)
			}
			if got := req.Header.Get("X-Amz-Date"); got != "20150830T123600Z" {
				t.Errorf("X-Amz-Date = %q", got)
			}

			// The same request as a server sees it.
			srv := httptest.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			srv.Header = req.Header.Clone()
			if err := verifySigV4(srv, []byte(tt.body), vectorSecret, "us-east-1", "service", vectorTime); err != nil {
				t.Errorf("verifier rejects the vector: %v", err)
			}
			if err := verifySigV4(srv, []byte(tt.body+"x"), vectorSecret, "us-east-1", "service", vectorTime); err == nil {
				t.Error("verifier accepts a changed body")
			}
			if err := verifySigV4(srv, []byte(tt.body), vectorSecret+"x", "us-east-1", "service", vectorTime); err == nil {
				t.Error("verifier accepts a wrong secret")
			}
			if err := verifySigV4(srv, []byte(tt.body), vectorSecret, "us-east-1", "service", vectorTime.Add(time.Hour)); err == nil {
				t.Error("verifier accepts an expired signature")
			}
		})
	}
}

// TestSignEachAttempt: every call signs at its own time, with the session token, over the body.
func TestSignEachAttempt(t *testing.T) {
	s := newSigner(testKeyID, testSecret, testToken, testRegion)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	body := `{"TableName":"posts"}`
	sign := func() *http.Request {
		req, err := http.NewRequest("POST", "http://127.0.0.1:4567/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-Amz-Target", targetPrefix+opDescribeTable)
		if err := s.sign(req); err != nil {
			t.Fatal(err)
		}
		return req
	}
	first := sign()
	now = now.Add(20 * time.Minute)
	second := sign()
	if first.Header.Get("X-Amz-Date") == second.Header.Get("X-Amz-Date") ||
		first.Header.Get("Authorization") == second.Header.Get("Authorization") {
		t.Error("a later attempt reused the first signature")
	}
	for _, req := range []*http.Request{first, second} {
		if got := req.Header.Get("X-Amz-Security-Token"); got != testToken {
			t.Errorf("X-Amz-Security-Token = %q", got)
		}
		auth := req.Header.Get("Authorization")
		for _, h := range []string{"content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target"} {
			if !strings.Contains(auth, h) {
				t.Errorf("%s is not signed: %s", h, auth)
			}
		}
		if strings.Contains(auth, testSecret) {
			t.Error("the secret is in the Authorization header")
		}
		srv := httptest.NewRequest("POST", "http://127.0.0.1:4567/", strings.NewReader(body))
		srv.Header = req.Header.Clone()
		signedAt, _ := time.Parse("20060102T150405Z", req.Header.Get("X-Amz-Date"))
		if err := verifySigV4(srv, []byte(body), testSecret, testRegion, service, signedAt); err != nil {
			t.Errorf("verifier: %v", err)
		}
	}
	// The body can still be sent after signing.
	b := make([]byte, len(body)+1)
	n, _ := second.Body.Read(b)
	if string(b[:n]) != body {
		t.Errorf("body after signing = %q", b[:n])
	}
}
