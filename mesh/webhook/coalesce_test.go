package webhook

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

// TestDebounce runs on synctest's fake clock: 50 deliveries at once make one build, started one
// debounce period after the first; 50 more that come while it runs make exactly one more, started
// when the first ends.
func TestDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := newFake()
		release := fake.holdBuild(1)
		var startedAt []time.Time
		var mu sync.Mutex
		p := providers()[2] // sanity: signed times on the fake clock
		const debounce = 250 * time.Millisecond
		h, err := New(Config{Build: func(ctx context.Context, sources []string) (*mesh.Build, error) {
			mu.Lock()
			startedAt = append(startedAt, time.Now())
			mu.Unlock()
			return fake.build(ctx, sources)
		}, Routes: []Route{p.route}, Debounce: debounce})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		ctx := context.Background()
		t0 := time.Now()
		const n = 50
		var wg sync.WaitGroup
		answers := make([]Response, 2*n)
		burst := func(from int) {
			for i := from; i < from+n; i++ {
				wg.Go(func() {
					b := fmt.Appendf(nil, `{"_id":"doc-%d"}`, i)
					_, answers[i] = deliver(t, h, ctx, http.MethodPost, p.route.Path, b, p.sign(b, time.Now()))
				})
			}
		}

		burst(0)
		synctest.Wait() // every delivery is in; the batch is gathering
		if fake.count() != 0 {
			t.Fatalf("built before the debounce period: %d", fake.count())
		}
		time.Sleep(debounce)
		synctest.Wait() // build 1 has started and is held
		if fake.count() != 1 {
			t.Fatalf("%d builds after the debounce period, want 1", fake.count())
		}

		burst(n) // while build 1 runs
		synctest.Wait()
		time.Sleep(10 * debounce) // the second batch is gathered and waits for build 1
		synctest.Wait()
		if fake.count() != 1 {
			t.Fatalf("a second build started while the first ran: %d", fake.count())
		}
		tRelease := time.Now()
		close(release)
		wg.Wait()

		if fake.count() != 2 {
			t.Errorf("%d deliveries made %d builds, want 2", 2*n, fake.count())
		}
		mu.Lock()
		defer mu.Unlock()
		if got := startedAt[0].Sub(t0); got != debounce {
			t.Errorf("build 1 started %v after the first delivery, want %v", got, debounce)
		}
		if !startedAt[1].Equal(tRelease) {
			t.Errorf("build 2 started %v after build 1 ended, want at once", startedAt[1].Sub(tRelease))
		}
		for i, a := range answers {
			want := 1 + i/n
			if buildNumber(a) != want || a.Webhooks != n {
				t.Errorf("delivery %d: build %d for %d webhooks, want build %d for %d", i, buildNumber(a), a.Webhooks, want, n)
			}
		}
	})
}
