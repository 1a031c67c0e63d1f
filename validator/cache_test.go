package validator_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// discovered returns a validator that finds as's keys by discovery, with its
// cache on (the default), counting cache hits.
func discovered(t *testing.T, as *oauthtest.Server, hits *atomic.Int64) *validator.Validator {
	t.Helper()
	return discoveredWith(t, as, hits, cache.Config{})
}

// discoveredWith is discovered with cc as the cache's configuration.
func discoveredWith(t *testing.T, as *oauthtest.Server, hits *atomic.Int64, cc cache.Config) *validator.Validator {
	t.Helper()
	v, err := validator.New(validator.Config{
		Issuers:    []validator.Issuer{{Issuer: as.Issuer(), Audiences: []string{as.Audience()}}},
		HTTPClient: as.Client(),
		Cache:      cc,
		Observer: tollgate.Observer{OnCacheHit: func(context.Context, tollgate.CacheEvent) {
			hits.Add(1)
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDiscoveredKeysAndCache runs the default configuration end to end: keys
// found by discovery, then a repeated token answered by the cache without a
// second signature check or fetch.
func TestDiscoveredKeysAndCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := oauthtest.New(oauthtest.Config{InMemory: true, IssuerPath: "/realm"})
		defer as.Close()
		var hits atomic.Int64
		v := discovered(t, as, &hits)
		defer v.Close()
		if v.Ready() {
			t.Fatal("Ready before any key was fetched")
		}
		if err := v.Start(context.Background()); err != nil {
			t.Fatalf("Start: %v", err)
		}
		if !v.Ready() {
			t.Fatal("not Ready after a successful Start")
		}
		token := as.JWT(oauthtest.TokenOptions{Subject: "alice"})
		for i := range 3 {
			p, err := v.Validate(context.Background(), token)
			wantAccept(t, p, err)
			if got := hits.Load(); got != int64(i) {
				t.Fatalf("after %d validations, %d cache hits", i+1, got)
			}
		}
		if n := as.Requests(oauthtest.EndpointJWKS); n != 1 {
			t.Fatalf("JWKS fetched %d times, want 1", n)
		}
	})
}

// TestCachedTokenDroppedWhenItsKeyIsWithdrawn: a token accepted and cached
// must not be served from the cache once a refresh shows its key is gone.
// The cache keeps entries for a day here, so that only the withdrawal can
// end the entry.
func TestCachedTokenDroppedWhenItsKeyIsWithdrawn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := oauthtest.New(oauthtest.Config{InMemory: true, TokenLifetime: 24 * time.Hour})
		defer as.Close()
		var hits atomic.Int64
		v := discoveredWith(t, as, &hits, cache.Config{MaxTTL: 24 * time.Hour})
		defer v.Close()
		old := as.SigningKey()
		token := as.JWT(oauthtest.TokenOptions{})
		p, err := v.Validate(context.Background(), token)
		wantAccept(t, p, err)

		// Twin: while the key is listed, the cached answer holds across a
		// refresh.
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		p, err = v.Validate(context.Background(), token)
		wantAccept(t, p, err)
		if hits.Load() != 1 {
			t.Fatalf("%d cache hits after the refresh, want 1: the entry must outlive a refresh that keeps its key", hits.Load())
		}

		as.RotateKey()
		as.RemoveKey(old.ID())
		time.Sleep(2 * time.Hour) // past the background refresh (at most an hour)
		synctest.Wait()
		_, err = v.Validate(context.Background(), token)
		wantReject(t, err, tollgate.ErrInvalidToken, "kid")
	})
}

// TestStartWhileTheAuthorizationServerIsDown: a server may start while the
// AS is down; requests answer ErrUnavailable, and once the AS is back the
// validator recovers without a restart.
func TestStartWhileTheAuthorizationServerIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := oauthtest.New(oauthtest.Config{InMemory: true})
		defer as.Close()
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: 503})
		var hits atomic.Int64
		v := discovered(t, as, &hits)
		defer v.Close()
		if err := v.Start(context.Background()); err == nil {
			t.Fatal("Start succeeded while the JWK Set answers 503")
		}
		token := as.JWT(oauthtest.TokenOptions{})
		_, err := v.Validate(context.Background(), token)
		wantReject(t, err, tollgate.ErrUnavailable, "jwks")

		as.Heal(oauthtest.EndpointJWKS)
		time.Sleep(10 * time.Minute) // the background retries back off to at most 5 minutes
		synctest.Wait()
		if !v.Ready() {
			t.Fatal("not Ready after the AS came back")
		}
		p, err := v.Validate(context.Background(), token)
		wantAccept(t, p, err) // ErrUnavailable was not cached
	})
}

// TestCloseLeavesCallerKeySetsOpen: Close closes what the validator created,
// not key sets it was given.
func TestCloseLeavesCallerKeySetsOpen(t *testing.T) {
	as := oauthtest.NewServer()
	defer as.Close()
	keys, err := jwks.New(jwks.Config{URL: as.JWKSURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{{Issuer: as.Issuer(), Audiences: []string{as.Audience()}, Keys: keys}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Lookup(context.Background(), as.SigningKey().ID()); err != nil {
		t.Fatalf("the caller's key set stopped working after Close: %v", err)
	}
}

// maxAgeValidator returns a validator for as with its cache on (the
// default) or off, and MaxAge maxAge on the issuer, counting cache hits.
func maxAgeValidator(t *testing.T, as *oauthtest.Server, maxAge time.Duration, cached bool, hits *atomic.Int64) *validator.Validator {
	t.Helper()
	v, err := validator.New(validator.Config{
		Issuers:      []validator.Issuer{{Issuer: as.Issuer(), Audiences: []string{as.Audience()}, Keys: serverKeys(t, as), MaxAge: maxAge}},
		DisableCache: !cached,
		Observer: tollgate.Observer{OnCacheHit: func(context.Context, tollgate.CacheEvent) {
			hits.Add(1)
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCacheHonoursMaxAge: a cached answer is never served once the
// validator would refuse the token for its age (the review's repro: MaxAge
// 10 minutes, a token valid for an hour, validated at 10m59s - within the
// leeway - and again at 14m59s, which the cache used to accept).
func TestCacheHonoursMaxAge(t *testing.T) {
	for _, tt := range []struct {
		name   string
		maxAge time.Duration
		reject bool // at 14m59s
	}{
		{name: "MaxAge 10m: refused at 14m59s", maxAge: 10 * time.Minute, reject: true},
		{name: "no MaxAge: accepted at 14m59s (twin)", reject: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := oauthtest.New(oauthtest.Config{InMemory: true})
				defer as.Close()
				var hits atomic.Int64
				v := maxAgeValidator(t, as, tt.maxAge, true, &hits)
				defer v.Close()
				token := as.JWT(oauthtest.TokenOptions{Lifetime: time.Hour})

				time.Sleep(10*time.Minute + 59*time.Second)
				p, err := v.Validate(context.Background(), token)
				wantAccept(t, p, err)
				// Cached: a second look a moment later is a hit.
				p, err = v.Validate(context.Background(), token)
				wantAccept(t, p, err)
				if hits.Load() != 1 {
					t.Fatalf("%d cache hits, want 1: the accepted token was not cached", hits.Load())
				}

				time.Sleep(4 * time.Minute)
				p, err = v.Validate(context.Background(), token)
				if tt.reject {
					if p != nil {
						t.Fatalf("token older than MaxAge + Leeway accepted (principal %q)", p.Subject())
					}
					wantReject(t, err, tollgate.ErrExpired, "iat")
				} else {
					wantAccept(t, p, err)
				}
			})
		})
	}
}

// TestCachedAgreesWithUncached steps time through a token's life and asks a
// cached and an uncached validator at every step: the cached one may refuse
// where the uncached one accepts (it stops at exp, not exp + leeway), never
// the reverse.
func TestCachedAgreesWithUncached(t *testing.T) {
	for _, tt := range []struct {
		name     string
		maxAge   time.Duration
		lifetime time.Duration
	}{
		{name: "MaxAge before exp", maxAge: 10 * time.Minute, lifetime: time.Hour},
		{name: "exp before MaxAge", maxAge: time.Hour, lifetime: 10 * time.Minute},
		{name: "no MaxAge", lifetime: 20 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := oauthtest.New(oauthtest.Config{InMemory: true})
				defer as.Close()
				var hits atomic.Int64
				cached := maxAgeValidator(t, as, tt.maxAge, true, &hits)
				defer cached.Close()
				uncached := maxAgeValidator(t, as, tt.maxAge, false, &hits)
				defer uncached.Close()
				token := as.JWT(oauthtest.TokenOptions{Lifetime: tt.lifetime})
				iat := time.Now()
				exp := iat.Add(tt.lifetime)
				accepted := 0
				for range 300 { // 300 x 7s: 35 minutes
					_, errC := cached.Validate(context.Background(), token)
					_, errU := uncached.Validate(context.Background(), token)
					if errC == nil {
						accepted++
						if errU != nil {
							t.Fatalf("at +%v: cached accepts, uncached refuses: %v", time.Since(iat), errU)
						}
					} else if errU == nil && time.Now().Before(exp) {
						t.Fatalf("at +%v (before exp): cached refuses, uncached accepts: %v", time.Since(iat), errC)
					}
					time.Sleep(7 * time.Second)
				}
				if accepted == 0 || hits.Load() == 0 {
					t.Fatalf("%d acceptances, %d cache hits: the test exercised nothing", accepted, hits.Load())
				}
			})
		})
	}
}

// TestCacheExpiryCombined: an Expiry set in Config.Cache is kept, and the
// earlier of it and the validator's own bound wins.
func TestCacheExpiryCombined(t *testing.T) {
	for _, tt := range []struct {
		name   string
		maxAge time.Duration
		own    time.Duration // the Config.Cache.Expiry bound after iat; 0: none
		gone   time.Duration // first moment the cached answer is no longer served
	}{
		{name: "own bound earlier", maxAge: 10 * time.Minute, own: 2 * time.Minute, gone: 2 * time.Minute},
		{name: "MaxAge earlier", maxAge: time.Minute, own: 4 * time.Minute, gone: time.Minute + validator.DefaultLeeway},
		{name: "own bound alone", own: 3 * time.Minute, gone: 3 * time.Minute},
		{name: "MaxTTL alone (twin)", gone: 5 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := oauthtest.New(oauthtest.Config{InMemory: true})
				defer as.Close()
				var calls atomic.Int64
				cfg := validator.Config{
					Issuers: []validator.Issuer{{Issuer: as.Issuer(), Audiences: []string{as.Audience()}, Keys: serverKeys(t, as), MaxAge: tt.maxAge}},
					Observer: tollgate.Observer{OnCacheMiss: func(context.Context, tollgate.CacheEvent) {
						calls.Add(1)
					}},
				}
				if tt.own > 0 {
					cfg.Cache.Expiry = func(p *tollgate.Principal) time.Time { return p.IssuedAt().Add(tt.own) }
				}
				v, err := validator.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer v.Close()
				token := as.JWT(oauthtest.TokenOptions{Lifetime: time.Hour})
				p, err := v.Validate(context.Background(), token)
				wantAccept(t, p, err)
				time.Sleep(tt.gone - time.Second)
				v.Validate(context.Background(), token)
				if n := calls.Load(); n != 1 {
					t.Fatalf("at %v: %d misses, want 1 (still cached)", tt.gone-time.Second, n)
				}
				time.Sleep(time.Second)
				v.Validate(context.Background(), token)
				if n := calls.Load(); n != 2 {
					t.Fatalf("at %v: %d misses, want 2 (no longer cached)", tt.gone, n)
				}
			})
		})
	}
}

// TestNotYetValidCachedAtMostNegativeTTL: a token refused for its nbf is
// refused from the cache for NegativeTTL, so it may be refused for up to
// NegativeTTL after it becomes valid - never longer.
func TestNotYetValidCachedAtMostNegativeTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := oauthtest.New(oauthtest.Config{InMemory: true})
		defer as.Close()
		v, err := validator.New(validator.Config{
			Issuers: []validator.Issuer{{Issuer: as.Issuer(), Audiences: []string{as.Audience()}, Keys: serverKeys(t, as)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		validFrom := time.Now().Add(5 * time.Minute) // nbf - leeway
		token := as.JWT(oauthtest.TokenOptions{Claims: map[string]any{"nbf": validFrom.Add(validator.DefaultLeeway).Unix()}})

		// Refused one second before it becomes valid; that refusal is
		// cached for NegativeTTL.
		time.Sleep(time.Until(validFrom) - time.Second)
		_, err = v.Validate(context.Background(), token)
		wantReject(t, err, tollgate.ErrExpired, "nbf")
		time.Sleep(cache.DefaultNegativeTTL - time.Nanosecond)
		_, err = v.Validate(context.Background(), token)
		wantReject(t, err, tollgate.ErrExpired, "nbf") // the cached refusal, within NegativeTTL
		if late := time.Since(validFrom); late >= cache.DefaultNegativeTTL {
			t.Fatalf("refused %v after becoming valid, NegativeTTL is %v", late, cache.DefaultNegativeTTL)
		}
		time.Sleep(time.Nanosecond)
		p, err := v.Validate(context.Background(), token)
		wantAccept(t, p, err)
	})
}
