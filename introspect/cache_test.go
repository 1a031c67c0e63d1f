package introspect_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/oauthtest"
)

// cached returns the Config of a client with the default cache.
func cached(as *oauthtest.Server) introspect.Config {
	cfg := config(as)
	cfg.DisableCache = false
	return cfg
}

func calls(as *oauthtest.Server) int { return as.Requests(oauthtest.EndpointIntrospection) }

func TestCache(t *testing.T) {
	t.Run("active answer served from the cache", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			as := newAS(oauthtest.Config{InMemory: true})
			defer as.Close()
			var hits atomic.Int32
			cfg := cached(as)
			cfg.Observer.OnCacheHit = func(_ context.Context, e tollgate.CacheEvent) {
				if e.Cache == "introspection" && !e.Negative {
					hits.Add(1)
				}
			}
			c := newClient(t, cfg)
			token := as.Opaque(oauthtest.TokenOptions{Subject: "alice"})
			p1, err := c.Validate(context.Background(), token)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := c.Validate(context.Background(), token)
			if err != nil || p2 != p1 {
				t.Fatalf("second validation: %v, same principal %v", err, p2 == p1)
			}
			if calls(as) != 1 || hits.Load() != 1 {
				t.Errorf("%d calls, %d hits; want 1 and 1", calls(as), hits.Load())
			}
		})
	})
	t.Run("revoked: visible after the TTL", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			as := newAS(oauthtest.Config{InMemory: true})
			defer as.Close()
			c := newClient(t, cached(as))
			token := as.Opaque(oauthtest.TokenOptions{})
			if _, err := c.Validate(context.Background(), token); err != nil {
				t.Fatal(err)
			}
			as.Revoke(token)
			// The revocation latency: accepted until the entry runs out...
			time.Sleep(introspect.DefaultCacheMaxTTL - time.Second)
			if _, err := c.Validate(context.Background(), token); err != nil || calls(as) != 1 {
				t.Fatalf("within the TTL: %v, %d calls; want the cached answer", err, calls(as))
			}
			// ...and not a moment longer.
			time.Sleep(time.Second)
			_, err := c.Validate(context.Background(), token)
			wantErr(t, err, tollgate.ErrInvalidToken, "active")
			if calls(as) != 2 {
				t.Errorf("%d calls, want 2", calls(as))
			}
		})
	})
	t.Run("shorter TTL, shorter latency", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			as := newAS(oauthtest.Config{InMemory: true})
			defer as.Close()
			cfg := cached(as)
			cfg.Cache.MaxTTL = 10 * time.Second
			c := newClient(t, cfg)
			token := as.Opaque(oauthtest.TokenOptions{})
			if _, err := c.Validate(context.Background(), token); err != nil {
				t.Fatal(err)
			}
			as.Revoke(token)
			time.Sleep(10 * time.Second)
			_, err := c.Validate(context.Background(), token)
			wantErr(t, err, tollgate.ErrInvalidToken, "active")
		})
	})
	t.Run("expired while cached: never served after exp", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			as := newAS(oauthtest.Config{InMemory: true})
			defer as.Close()
			c := newClient(t, cached(as))
			token := as.Opaque(oauthtest.TokenOptions{Lifetime: 30 * time.Second})
			if _, err := c.Validate(context.Background(), token); err != nil {
				t.Fatal(err)
			}
			time.Sleep(29 * time.Second)
			if _, err := c.Validate(context.Background(), token); err != nil || calls(as) != 1 {
				t.Fatalf("before exp: %v, %d calls", err, calls(as))
			}
			time.Sleep(time.Second) // now == exp
			_, err := c.Validate(context.Background(), token)
			wantErr(t, err, tollgate.ErrInvalidToken, "active")
			if calls(as) != 2 {
				t.Errorf("%d calls, want 2: the entry must end at exp", calls(as))
			}
		})
	})
	t.Run("expired: a lagging server's active answer is refused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			as := newAS(oauthtest.Config{InMemory: true})
			defer as.Close()
			c := newClient(t, cached(as))
			exp := time.Now().Add(-time.Second).Unix()
			as.Fail(oauthtest.EndpointIntrospection, oauthtest.Failure{Body: `{"active":true,"exp":` + strconv.FormatInt(exp, 10) + `}`})
			_, err := c.Validate(context.Background(), "any-token")
			wantErr(t, err, tollgate.ErrExpired, "exp")
		})
	})
	t.Run("rejection cached for the negative TTL", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			as := newAS(oauthtest.Config{InMemory: true})
			defer as.Close()
			c := newClient(t, cached(as))
			for range 3 {
				_, err := c.Validate(context.Background(), "unknown-token")
				wantErr(t, err, tollgate.ErrInvalidToken, "active")
			}
			if calls(as) != 1 {
				t.Errorf("%d calls, want 1", calls(as))
			}
			time.Sleep(cache.DefaultNegativeTTL)
			_, err := c.Validate(context.Background(), "unknown-token")
			wantErr(t, err, tollgate.ErrInvalidToken, "active")
			if calls(as) != 2 {
				t.Errorf("%d calls, want 2", calls(as))
			}
		})
	})
	t.Run("unavailable is never cached", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			as := newAS(oauthtest.Config{InMemory: true})
			defer as.Close()
			c := newClient(t, cached(as))
			token := as.Opaque(oauthtest.TokenOptions{})
			as.Fail(oauthtest.EndpointIntrospection, oauthtest.Failure{Status: 503})
			_, err := c.Validate(context.Background(), token)
			wantErr(t, err, tollgate.ErrUnavailable, "introspection")
			as.Heal(oauthtest.EndpointIntrospection)
			if _, err := c.Validate(context.Background(), token); err != nil {
				t.Fatalf("after the server recovered: %v", err)
			}
		})
	})
	t.Run("off", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			as := newAS(oauthtest.Config{InMemory: true})
			defer as.Close()
			c := newClient(t, config(as)) // DisableCache
			token := as.Opaque(oauthtest.TokenOptions{})
			for range 2 {
				if _, err := c.Validate(context.Background(), token); err != nil {
					t.Fatal(err)
				}
			}
			if calls(as) != 2 {
				t.Errorf("%d calls, want 2", calls(as))
			}
		})
	})
}

// TestCoalescing: 1,000 concurrent requests with the same uncached token
// make exactly one call. The server holds its answer until every caller is
// waiting (synctest.Wait: all goroutines of the bubble durably blocked), so
// the single call proves coalescing, not luck of timing.
func TestCoalescing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const callers = 1000
		release := make(chan struct{})
		as := newAS(oauthtest.Config{InMemory: true, OnRequest: func(ep oauthtest.Endpoint, _ *http.Request) {
			if ep == oauthtest.EndpointIntrospection {
				<-release
			}
		}})
		defer as.Close()
		var misses, coalesced atomic.Int32
		cfg := cached(as)
		cfg.Observer.OnCacheMiss = func(_ context.Context, e tollgate.CacheEvent) {
			misses.Add(1)
			if e.Coalesced {
				coalesced.Add(1)
			}
		}
		c := newClient(t, cfg)
		token := as.Opaque(oauthtest.TokenOptions{Subject: "alice"})

		var wg sync.WaitGroup
		principals := make([]*tollgate.Principal, callers)
		errs := make([]error, callers)
		for i := range callers {
			wg.Go(func() { principals[i], errs[i] = c.Validate(context.Background(), token) })
		}
		synctest.Wait()
		if n := calls(as); n != 1 {
			t.Fatalf("%d calls while %d callers wait; want 1", n, callers)
		}
		if misses.Load() != callers || coalesced.Load() != callers-1 {
			t.Errorf("%d misses, %d coalesced; want %d and %d", misses.Load(), coalesced.Load(), callers, callers-1)
		}
		close(release)
		wg.Wait()
		for i := range callers {
			if errs[i] != nil || principals[i] != principals[0] || principals[i].Subject() != "alice" {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
		}
		if n := calls(as); n != 1 {
			t.Errorf("%d calls, want 1", n)
		}
	})
}
