package validator_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// discovered returns a validator that finds as's keys by discovery, with its
// cache on (the default), counting cache hits.
func discovered(t *testing.T, as *oauthtest.Server, hits *atomic.Int64) *validator.Validator {
	t.Helper()
	v, err := validator.New(validator.Config{
		Issuers:    []validator.Issuer{{Issuer: as.Issuer(), Audiences: []string{as.Audience()}}},
		HTTPClient: as.Client(),
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
func TestCachedTokenDroppedWhenItsKeyIsWithdrawn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := oauthtest.New(oauthtest.Config{InMemory: true, TokenLifetime: 24 * time.Hour})
		defer as.Close()
		var hits atomic.Int64
		v := discovered(t, as, &hits)
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
