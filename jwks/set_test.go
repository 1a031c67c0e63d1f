package jwks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
)

func TestNewValidatesConfig(t *testing.T) {
	key := staticKey(t, "k1")
	for _, tc := range []struct {
		name string
		cfg  jwks.Config
		ok   bool
	}{
		{"url https", jwks.Config{URL: "https://as.example.com/jwks"}, true},
		{"url loopback http", jwks.Config{URL: "http://127.0.0.1:9/jwks"}, true},
		{"url localhost http", jwks.Config{URL: "http://as-1.oauthtest.localhost/jwks"}, true},
		{"url public http", jwks.Config{URL: "http://as.example.com/jwks"}, false},
		{"url public http, insecure", jwks.Config{URL: "http://as.example.com/jwks", InsecureAllowHTTP: true, Logger: slog.New(slog.DiscardHandler)}, true},
		{"url relative", jwks.Config{URL: "/jwks"}, false},
		{"url fragment", jwks.Config{URL: "https://as.example.com/jwks#k"}, false},
		{"issuer https", jwks.Config{Issuer: "https://as.example.com/tenant"}, true},
		{"issuer public http", jwks.Config{Issuer: "http://as.example.com"}, false},
		{"issuer query", jwks.Config{Issuer: "https://as.example.com/?tenant=a"}, false},
		{"issuer userinfo", jwks.Config{Issuer: "https://u:p@as.example.com/"}, false},
		{"issuer, oidc", jwks.Config{Issuer: "https://as.example.com", Discovery: jwks.DiscoveryOIDC}, true},
		{"issuer, unknown discovery", jwks.Config{Issuer: "https://as.example.com", Discovery: 7}, false},
		{"static", jwks.Config{Keys: []*jwks.Key{key}}, true},
		{"static empty", jwks.Config{Keys: []*jwks.Key{}}, false},
		{"static nil key", jwks.Config{Keys: []*jwks.Key{nil}}, false},
		{"no source", jwks.Config{}, false},
		{"two sources", jwks.Config{URL: "https://as.example.com/jwks", Issuer: "https://as.example.com"}, false},
		{"negative timeout", jwks.Config{URL: "https://a.example/", Timeout: -1}, false},
		{"negative min refresh", jwks.Config{URL: "https://a.example/", MinRefreshInterval: -1}, false},
		{"negative max refresh", jwks.Config{URL: "https://a.example/", MaxRefreshInterval: -1}, false},
		{"negative refetch", jwks.Config{URL: "https://a.example/", MinRefetchInterval: -1}, false},
		{"max under min", jwks.Config{URL: "https://a.example/", MinRefreshInterval: time.Hour, MaxRefreshInterval: time.Minute}, false},
		{"min over default max", jwks.Config{URL: "https://a.example/", MinRefreshInterval: 2 * time.Hour}, true},
		{"negative stale limit (off)", jwks.Config{URL: "https://a.example/", StaleLimit: -1}, true},
		{"negative body size", jwks.Config{URL: "https://a.example/", MaxBodyBytes: -1}, false},
		{"negative max keys", jwks.Config{URL: "https://a.example/", MaxKeys: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := jwks.New(tc.cfg)
			if tc.ok {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("New accepted it")
			}
			if !strings.HasPrefix(err.Error(), "jwks: ") || strings.Contains(err.Error(), ":p@") {
				t.Fatalf("error %q", err)
			}
		})
	}
}

func staticKey(t *testing.T, kid string) *jwks.Key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwks.NewKey(kid, "ES256", &priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestStaticKeys(t *testing.T) {
	k1, k2 := staticKey(t, "k1"), staticKey(t, "k2")
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k2b, err := jwks.NewKey("k2", "EdDSA", pub)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwks.New(jwks.Config{Keys: []*jwks.Key{k1, k2, k2b}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(context.Background()); err != nil || !s.Ready() {
		t.Fatalf("Start = %v, Ready = %v", err, s.Ready())
	}
	ctx := context.Background()
	if ks, err := s.Lookup(ctx, "k1"); err != nil || len(ks) != 1 || ks[0] != k1 {
		t.Fatalf("Lookup(k1) = %v, %v", ks, err)
	}
	// One ID shared by keys of two types: both are returned.
	if ks, err := s.Lookup(ctx, "k2"); err != nil || len(ks) != 2 {
		t.Fatalf("Lookup(k2) = %v, %v", ks, err)
	}
	_, err = s.Lookup(ctx, "k3")
	wantErr(t, err, tollgate.ErrInvalidToken, "kid")
	if all, err := s.Keys(ctx); err != nil || len(all) != 3 {
		t.Fatalf("Keys = %v, %v", all, err)
	}
	if s.Generation() != 0 {
		t.Fatal("generation of a static set changed")
	}
}

// TestLookupUnknownKID: an unknown kid refetches at once, then at most once
// per MinRefetchInterval, configured or by default (30 s): tested at the
// interval and a nanosecond short of it.
func TestLookupUnknownKID(t *testing.T) {
	for _, tc := range []struct {
		name               string
		configured, period time.Duration
	}{
		{"configured", time.Minute, time.Minute},
		{"default", 0, 30 * time.Second}, // as SECURITY.md documents
	} {
		t.Run(tc.name, func(t *testing.T) { testLookupUnknownKID(t, tc.configured, tc.period) })
	}
}

func testLookupUnknownKID(t *testing.T, configured, period time.Duration) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		s := newSet(t, as, jwks.Config{MinRefetchInterval: configured})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		count := func() int { return as.Requests(oauthtest.EndpointJWKS) }

		// Right after Start, the first unknown kid still refetches: only
		// fetches triggered by tokens count against the limit, so a key the
		// AS added a moment after our last fetch is found at once.
		_, err := s.Lookup(ctx, "unknown")
		wantErr(t, err, tollgate.ErrInvalidToken, "kid")
		if count() != 2 {
			t.Fatalf("%d fetches, want 2", count())
		}
		// Rate-limited now: answered at once, no fetch.
		_, err = s.Lookup(ctx, "other-unknown")
		wantErr(t, err, tollgate.ErrInvalidToken, "kid")
		if count() != 2 {
			t.Fatalf("%d fetches, want 2", count())
		}
		// An interval later: one refetch, still unknown.
		advance(period)
		_, err = s.Lookup(ctx, "unknown")
		wantErr(t, err, tollgate.ErrInvalidToken, "kid")
		if count() != 3 {
			t.Fatalf("%d fetches, want 3", count())
		}
		// Just short of the next interval: no fetch.
		advance(period - time.Nanosecond)
		_, err = s.Lookup(ctx, "unknown")
		wantErr(t, err, tollgate.ErrInvalidToken, "kid")
		if count() != 3 {
			t.Fatalf("%d fetches, want 3", count())
		}
		// At the interval: a fetch, which the refetch fails.
		advance(time.Nanosecond)
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusInternalServerError})
		_, err = s.Lookup(ctx, "unknown")
		wantErr(t, err, tollgate.ErrUnavailable, "jwks")
		if count() != 4 {
			t.Fatalf("%d fetches, want 4", count())
		}
		if !strings.Contains(err.Error(), "500") {
			t.Fatalf("err = %v, want the 500 as its cause", err)
		}
	})
}

func TestLookupGivesUpWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		s := newSet(t, as, jwks.Config{})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		advance(time.Minute)
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Hang: true})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := s.Lookup(ctx, "unknown")
		wantErr(t, err, tollgate.ErrUnavailable, "jwks")
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Fatalf("err = %v after %v, want the caller's deadline after 1s", err, time.Since(start))
		}
		// The fetch goes on without the caller and ends with its own timeout.
		advance(jwks.DefaultTimeout)
		_, err = s.Lookup(context.Background(), "unknown")
		wantErr(t, err, tollgate.ErrUnavailable, "jwks")
	})
}

func TestKeysWithoutKID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		as.RotateKey("ES256")
		s := newSet(t, as, jwks.Config{})
		// Keys before Start: it fetches.
		keys, err := s.Keys(context.Background())
		if err != nil || len(keys) != 2 {
			t.Fatalf("Keys = %v, %v", keys, err)
		}
		token := as.JWT(oauthtest.TokenOptions{Header: map[string]any{"kid": nil}})
		if !verifies(token, keys) {
			t.Fatal("no key verifies a token without kid")
		}
	})
}

// TestLookupWithoutStart: the first lookup fetches, and the background
// refresh runs from then on.
func TestLookupWithoutStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		s := newSet(t, as, jwks.Config{})
		if s.Ready() {
			t.Fatal("ready before any fetch")
		}
		token := as.JWT(oauthtest.TokenOptions{})
		mustLookup(t, s, kidOf(t, token), token)
		advance(jwks.DefaultMaxRefreshInterval)
		if n := as.Requests(oauthtest.EndpointJWKS); n != 2 {
			t.Fatalf("%d fetches after an hour, want 2", n)
		}
	})
}

func TestCacheControl(t *testing.T) {
	const lo, hi = 5 * time.Minute, time.Hour
	for _, tc := range []struct {
		header string
		want   time.Duration // the refresh interval before jitter
	}{
		{"", hi},
		{"max-age=600", 10 * time.Minute},
		{"public, max-age=1200, must-revalidate", 20 * time.Minute},
		{`max-age="900"`, 15 * time.Minute},
		{"MAX-AGE=600", 10 * time.Minute},
		{"max-age=10", lo},
		{"max-age=0", lo},
		{"no-cache", lo},
		{"no-store, max-age=3000", lo},
		{"max-age=86400", hi},
		{"max-age=99999999999999999999999", hi},
		{"max-age=abc", hi},
		{"max-age=600, max-age=60", 10 * time.Minute},
	} {
		t.Run(tc.header, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{})
				if tc.header != "" {
					as.SetHeader(oauthtest.EndpointJWKS, "Cache-Control", tc.header)
				}
				s := newSet(t, as, jwks.Config{MinRefreshInterval: lo, MaxRefreshInterval: hi})
				if err := s.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				// Jitter shortens an interval by up to a tenth, never below
				// the minimum.
				earliest := max(tc.want-tc.want/10, lo)
				advance(earliest - time.Nanosecond)
				if n := as.Requests(oauthtest.EndpointJWKS); n != 1 {
					t.Fatalf("%d fetches before %v", n, earliest)
				}
				advance(tc.want - earliest + time.Nanosecond)
				if n := as.Requests(oauthtest.EndpointJWKS); n != 2 {
					t.Fatalf("%d fetches after %v", n, tc.want)
				}
			})
		})
	}
}

// TestForcedFetchSendsNoCache: a refetch for an unknown kid asks caches on
// the way for a fresh copy; a scheduled refresh does not.
func TestForcedFetchSendsNoCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var seen []string
		as := inMemory(t, oauthtest.Config{OnRequest: func(_ oauthtest.Endpoint, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, r.Header.Get("Cache-Control"))
		}})
		s := newSet(t, as, jwks.Config{})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		advance(time.Minute)
		_, _ = s.Lookup(context.Background(), "unknown")
		advance(jwks.DefaultMaxRefreshInterval)
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 3 || seen[0] != "" || seen[1] != "no-cache" || seen[2] != "" {
			t.Fatalf("Cache-Control of start, forced, scheduled = %q", seen)
		}
	})
}

func TestGenerationOnReplacedKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		var ev events
		s := newSet(t, as, jwks.Config{Observer: ev.observer()})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		gen := s.Generation()
		kid := as.SigningKey().ID()
		// Same kid, other key material: a replacement.
		impostor := oauthtest.NewKey("RS256").WithID(kid)
		as.RemoveKey(kid)
		as.PublishKey(impostor)
		advance(jwks.DefaultMaxRefreshInterval)
		if s.Generation() == gen {
			t.Fatal("replacing a key did not change the generation")
		}
		if f := ev.lastFetch(); len(f.Added) != 1 || len(f.Removed) != 1 || f.Added[0] != kid || f.Removed[0] != kid {
			t.Fatalf("fetch event = %+v, want %s added and removed", f, kid)
		}
		token := as.JWT(oauthtest.TokenOptions{Key: impostor})
		mustLookup(t, s, kid, token)
		// Passing twin: the same set again changes nothing.
		gen = s.Generation()
		advance(jwks.DefaultMaxRefreshInterval)
		if s.Generation() != gen {
			t.Fatal("an unchanged set changed the generation")
		}
	})
}

func TestStaleLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		const limit = 3 * time.Hour
		s := newSet(t, as, jwks.Config{StaleLimit: limit})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		token := as.JWT(oauthtest.TokenOptions{Lifetime: 24 * time.Hour})
		kid := kidOf(t, token)
		gen := s.Generation()
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusBadGateway})

		advance(limit - time.Nanosecond)
		mustLookup(t, s, kid, token)
		if !s.Ready() || s.Generation() != gen {
			t.Fatal("stale before the limit")
		}
		advance(time.Nanosecond)
		_, err := s.Lookup(context.Background(), kid)
		wantErr(t, err, tollgate.ErrUnavailable, "jwks")
		_, err = s.Keys(context.Background())
		wantErr(t, err, tollgate.ErrUnavailable, "jwks")
		if s.Ready() {
			t.Fatal("ready with stale keys")
		}
		staleGen := s.Generation()
		if staleGen == gen {
			t.Fatal("going stale did not change the generation")
		}

		as.Heal(oauthtest.EndpointJWKS)
		advance(jwks.DefaultMinRefreshInterval)
		mustLookup(t, s, kid, token)
		if !s.Ready() || s.Generation() == gen || s.Generation() == staleGen {
			t.Fatalf("after recovery: ready %v, generation %d (before %d, stale %d)", s.Ready(), s.Generation(), gen, staleGen)
		}
	})
}

// TestStaleLimitOff: with a negative limit, keys survive any outage.
func TestStaleLimitOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		s := newSet(t, as, jwks.Config{StaleLimit: -1, MinRefreshInterval: 6 * time.Hour})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		token := as.JWT(oauthtest.TokenOptions{Lifetime: 100 * 24 * time.Hour})
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusBadGateway})
		advance(30 * 24 * time.Hour)
		mustLookup(t, s, kidOf(t, token), token)
	})
}

func TestDefaultStaleLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		s := newSet(t, as, jwks.Config{MinRefreshInterval: time.Hour})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusBadGateway})
		advance(jwks.DefaultStaleLimit - time.Minute)
		if !s.Ready() {
			t.Fatal("stale before the default limit")
		}
		advance(time.Minute)
		if s.Ready() {
			t.Fatal("not stale at the default limit")
		}
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		s := newSet(t, as, jwks.Config{})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		token := as.JWT(oauthtest.TokenOptions{})
		// A fetch in flight when Close is called ends with it.
		advance(time.Minute)
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Hang: true})
		errc := make(chan error, 1)
		go func() {
			_, err := s.Lookup(context.Background(), "unknown")
			errc <- err
		}()
		synctest.Wait()
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) != 0 {
			t.Fatal("Close waited for the fetch's timeout")
		}
		wantErr(t, <-errc, tollgate.ErrUnavailable, "jwks")
		// Keys held stay readable; nothing is fetched any more.
		mustLookup(t, s, kidOf(t, token), token)
		n := as.Requests(oauthtest.EndpointJWKS)
		advance(time.Minute)
		_, err := s.Lookup(context.Background(), "unknown")
		wantErr(t, err, tollgate.ErrUnavailable, "jwks")
		err = s.Start(context.Background())
		wantErr(t, err, tollgate.ErrUnavailable, "jwks")
		advance(24 * time.Hour)
		if as.Requests(oauthtest.EndpointJWKS) != n {
			t.Fatal("a closed set fetched")
		}
		if err := s.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
	})
}

// TestCloseWithDefaultClient: a set with its own client leaves no
// connection goroutine behind (goleak checks at the end of the package).
func TestCloseWithDefaultClient(t *testing.T) {
	as := oauthtest.NewServer()
	defer as.Close()
	s, err := jwks.New(jwks.Config{URL: as.JWKSURL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	token := as.JWT(oauthtest.TokenOptions{})
	mustLookup(t, s, kidOf(t, token), token)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStartHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Hang: true})
		s := newSet(t, as, jwks.Config{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := s.Start(ctx)
		wantErr(t, err, tollgate.ErrUnavailable, "jwks")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the deadline", err)
		}
		as.Heal(oauthtest.EndpointJWKS)
		// The first fetch hangs until its own timeout; the retry succeeds.
		advance(jwks.DefaultTimeout + jwks.DefaultMinRefetchInterval)
		if !s.Ready() {
			t.Fatal("not ready after the retry")
		}
	})
}

// TestCallerClientUnchanged: the caller's client is used, not modified.
func TestCallerClientUnchanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		c := as.Client()
		before := *c
		s := newSet(t, as, jwks.Config{HTTPClient: c})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if c.CheckRedirect != nil || c.Transport != before.Transport || c.Timeout != before.Timeout {
			t.Fatal("the caller's client was modified")
		}
	})
}

// TestNewKeyRightAfterABackgroundRefresh: an authorization server that adds
// a key and signs with it at once, moments after our last routine fetch,
// must not see its new tokens refused until the rate limit runs out.
func TestNewKeyRightAfterABackgroundRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		s := newSet(t, as, jwks.Config{MinRefetchInterval: time.Minute})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Step until a background refresh has just run.
		before := as.Requests(oauthtest.EndpointJWKS)
		for as.Requests(oauthtest.EndpointJWKS) == before {
			advance(time.Second)
		}
		before = as.Requests(oauthtest.EndpointJWKS)
		k := as.RotateKey()
		if _, err := s.Lookup(context.Background(), k.ID()); err != nil {
			t.Fatalf("the new key was refused: %v", err)
		}
		if n := as.Requests(oauthtest.EndpointJWKS) - before; n != 1 {
			t.Fatalf("%d fetches for the new key, want 1", n)
		}
	})
}
