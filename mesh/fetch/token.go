package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// TokenCache keeps a short-lived access token (an OAuth client-credentials token, Auth0's Management
// API token) for Config.Auth: it is fetched on first use, shared by all requests, and refreshed
// shortly before it expires. Concurrent callers that find no valid token share one refresh (a
// single flight run on the first caller's goroutine: no goroutine is started). The zero value is not
// usable: set Fetch.
type TokenCache struct {
	// Fetch obtains a new token and how long it is valid (0: until Invalidate). Required.
	Fetch func(ctx context.Context) (token string, ttl time.Duration, err error)

	mu      sync.Mutex
	token   string
	expires time.Time // zero: no expiry
	flight  *tokenFlight
}

type tokenFlight struct {
	done  chan struct{}
	token string
	err   error
}

// Token returns a valid token, fetching one if needed. A refresh is started a tenth of the lifetime
// (at most a minute) before expiry. If the caller whose refresh the others wait for is cancelled,
// the others try again rather than fail with its cancellation.
func (t *TokenCache) Token(ctx context.Context) (string, error) {
	if t.Fetch == nil {
		return "", errors.New("fetch.TokenCache: Fetch is nil")
	}
	for {
		t.mu.Lock()
		if t.token != "" && (t.expires.IsZero() || time.Now().Before(t.expires)) {
			tok := t.token
			t.mu.Unlock()
			return tok, nil
		}
		if f := t.flight; f != nil {
			t.mu.Unlock()
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-f.done:
			}
			if f.err == nil {
				return f.token, nil
			}
			if isContextError(f.err) && ctx.Err() == nil {
				continue // the leader was cancelled, not us
			}
			return "", f.err
		}
		f := &tokenFlight{done: make(chan struct{})}
		t.flight = f
		t.mu.Unlock()

		tok, ttl, err := t.Fetch(ctx)
		if err == nil && tok == "" {
			err = errors.New("empty token")
		}
		if err != nil {
			err = fmt.Errorf("getting an access token: %w", err)
		}
		t.mu.Lock()
		t.flight = nil
		f.token, f.err = tok, err
		if err == nil {
			t.token = tok
			t.expires = time.Time{}
			if ttl > 0 {
				t.expires = time.Now().Add(ttl - min(ttl/10, time.Minute))
			}
		}
		close(f.done)
		t.mu.Unlock()
		return tok, err
	}
}

// Invalidate drops token if it is still the cached one (call it after a 401), so that the next
// Token fetches a new one.
func (t *TokenCache) Invalidate(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == token {
		t.token, t.expires = "", time.Time{}
	}
}

// Bearer returns a Config.Auth function that sets "Authorization: Bearer <token>", getting the
// token with the request's context.
func (t *TokenCache) Bearer() func(*http.Request) error {
	return func(r *http.Request) error {
		tok, err := t.Token(r.Context())
		if err != nil {
			return err
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
