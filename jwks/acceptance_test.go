package jwks_test

// The acceptance tests of the jwks issue: rotation, outage, storm and
// recovery, each in fake time against an in-memory authorization server.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
)

// TestRotation: the AS adds a key and signs with it; the first token with the
// new kid is accepted after exactly one refetch, and tokens with the old kid
// keep working while the AS lists it - and stop once it no longer does.
func TestRotation(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{Algorithm: alg})
				var ev events
				s := newSet(t, as, jwks.Config{Observer: ev.observer()})
				if err := s.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				oldToken := as.JWT(oauthtest.TokenOptions{})
				oldKID := kidOf(t, oldToken)
				mustLookup(t, s, oldKID, oldToken)
				gen := s.Generation()

				advance(jwks.DefaultMinRefetchInterval) // past the rate limit of the first fetch
				as.RotateKey()
				newToken := as.JWT(oauthtest.TokenOptions{})
				newKID := kidOf(t, newToken)
				before := as.Requests(oauthtest.EndpointJWKS)
				mustLookup(t, s, newKID, newToken)
				if n := as.Requests(oauthtest.EndpointJWKS) - before; n != 1 {
					t.Fatalf("%d fetches for the new kid, want exactly 1", n)
				}
				mustLookup(t, s, newKID, newToken) // no further fetch
				mustLookup(t, s, oldKID, oldToken)
				if n := as.Requests(oauthtest.EndpointJWKS) - before; n != 1 {
					t.Fatalf("%d fetches after the rotation, want 1", n)
				}
				last := ev.lastFetch()
				if !last.Forced || len(last.Added) != 1 || last.Added[0] != newKID || len(last.Removed) != 0 || last.Keys != 2 {
					t.Fatalf("fetch event = %+v, want forced, added [%s], nothing removed, 2 keys", last, newKID)
				}
				if s.Generation() != gen {
					t.Fatal("adding a key changed the generation")
				}

				// The AS withdraws the old key; the next background refresh
				// (at most MaxRefreshInterval later) drops it.
				as.RemoveKey(oldKID)
				advance(jwks.DefaultMaxRefreshInterval)
				// The background refresh reported the removal.
				if refresh := ev.lastFetch(); refresh.Forced || len(refresh.Removed) != 1 || refresh.Removed[0] != oldKID || len(refresh.Added) != 0 {
					t.Fatalf("fetch event = %+v, want background, removed [%s]", refresh, oldKID)
				}
				_, err := s.Lookup(context.Background(), oldKID)
				wantErr(t, err, tollgate.ErrInvalidToken, "kid")
				mustLookup(t, s, newKID, newToken)
				if s.Generation() == gen {
					t.Fatal("removing a key did not change the generation")
				}
			})
		})
	}
}

// TestOutage: the JWK Set endpoint fails for a simulated day; tokens signed
// with known keys keep validating, every failure is reported, and an unknown
// kid meanwhile is "unavailable", never "invalid".
func TestOutage(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    oauthtest.Failure
	}{
		{"500", oauthtest.Failure{Status: http.StatusInternalServerError}},
		{"hang", oauthtest.Failure{Hang: true}},
		{"garbage", oauthtest.Failure{Body: "<html>maintenance</html>"}},
		{"not a set", oauthtest.Failure{Body: `{"error":"oops"}`}},
		{"empty set", oauthtest.Failure{Body: `{"keys":[]}`}},
		{"only bad keys", oauthtest.Failure{Body: `{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"x"}]}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{})
				var ev events
				s := newSet(t, as, jwks.Config{Observer: ev.observer()})
				if err := s.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				token := as.JWT(oauthtest.TokenOptions{Lifetime: 48 * time.Hour})
				kid := kidOf(t, token)
				gen := s.Generation()

				as.Fail(oauthtest.EndpointJWKS, tc.f)
				end := time.Now().Add(24 * time.Hour)
				for time.Now().Before(end) {
					advance(10 * time.Minute)
					mustLookup(t, s, kid, token)
					if !s.Ready() {
						t.Fatalf("not ready after %v of outage", 24*time.Hour-time.Until(end))
					}
				}
				_, failures, _ := ev.counts()
				// Background retries back off to MinRefreshInterval: a day
				// holds a few hundred of them, each reported.
				if failures < 100 || failures > 24*60*10/45+10 {
					t.Fatalf("%d failures reported in a day", failures)
				}
				if f := ev.lastFailure(); f.Err == nil || f.Keys != 1 || f.URL != as.JWKSURL() {
					t.Fatalf("failure event = %+v", f)
				}
				if s.Generation() != gen {
					t.Fatal("the outage changed the generation")
				}

				// A rotation during the outage: new tokens are not called
				// invalid, because nobody could check.
				advance(jwks.DefaultMinRefreshInterval)
				newKID := kidOf(t, as.JWT(oauthtest.TokenOptions{Key: as.RotateKey()}))
				_, err := s.Lookup(context.Background(), newKID)
				wantErr(t, err, tollgate.ErrUnavailable, "jwks")
				// ... also while the refetch is rate-limited.
				_, err = s.Lookup(context.Background(), newKID)
				wantErr(t, err, tollgate.ErrUnavailable, "jwks")

				// Passing twin: the AS heals, the new key arrives.
				as.Heal(oauthtest.EndpointJWKS)
				advance(jwks.DefaultMinRefreshInterval)
				if _, err := s.Lookup(context.Background(), newKID); err != nil {
					t.Fatalf("after healing: %v", err)
				}
				mustLookup(t, s, kid, token)
			})
		})
	}
}

// TestStorm: 10,000 concurrent lookups of random unknown kids cause one
// fetch per minimum interval, and none waits longer than that fetch.
func TestStorm(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fetchTime time.Duration // how long the AS takes to answer
		hang      bool          // the AS never answers: the fetch times out
	}{
		{"fast AS", 0, false},
		{"slow AS", 3 * time.Second, false},
		{"hanging AS", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const timeout = 5 * time.Second
				as := inMemory(t, oauthtest.Config{OnRequest: func(oauthtest.Endpoint, *http.Request) {
					time.Sleep(tc.fetchTime)
				}})
				var ev events
				s := newSet(t, as, jwks.Config{Observer: ev.observer(), Timeout: timeout})
				if err := s.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				token := as.JWT(oauthtest.TokenOptions{})
				kid := kidOf(t, token)
				advance(jwks.DefaultMinRefetchInterval)
				if tc.hang {
					as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Hang: true})
				}
				// The longest any lookup may wait: the one fetch.
				longest := tc.fetchTime
				wantKind, wantCheck := tollgate.ErrInvalidToken, "kid"
				if tc.hang {
					longest = timeout
					wantKind, wantCheck = tollgate.ErrUnavailable, "jwks"
				}

				storm := func() (worst time.Duration) {
					const n = 10000
					var wg sync.WaitGroup
					var mu sync.Mutex
					errs := make(chan error, n)
					for range n {
						wg.Add(1)
						go func() {
							defer wg.Done()
							start := time.Now()
							_, err := s.Lookup(context.Background(), fmt.Sprintf("attacker-%d", rand.Uint64()))
							d := time.Since(start)
							mu.Lock()
							worst = max(worst, d)
							mu.Unlock()
							errs <- err
						}()
					}
					wg.Wait()
					close(errs)
					for err := range errs {
						wantErr(t, err, wantKind, wantCheck)
					}
					return worst
				}

				before := as.Requests(oauthtest.EndpointJWKS)
				if worst := storm(); worst > longest {
					t.Fatalf("a lookup waited %v, longer than the one fetch (%v)", worst, longest)
				}
				if n := as.Requests(oauthtest.EndpointJWKS) - before; n != 1 {
					t.Fatalf("first storm: %d fetches, want 1", n)
				}
				// Inside the interval: no fetch, no waiting at all.
				if worst := storm(); worst != 0 {
					t.Fatalf("a rate-limited lookup waited %v", worst)
				}
				if n := as.Requests(oauthtest.EndpointJWKS) - before; n != 1 {
					t.Fatalf("second storm: %d fetches, want still 1", n)
				}
				// Known keys are served all along without a fetch.
				if !tc.hang {
					mustLookup(t, s, kid, token)
				}
				// An interval later, one more fetch.
				advance(jwks.DefaultMinRefetchInterval)
				if worst := storm(); worst > longest {
					t.Fatalf("a lookup waited %v, longer than the one fetch (%v)", worst, longest)
				}
				if n := as.Requests(oauthtest.EndpointJWKS) - before; n != 2 {
					t.Fatalf("third storm: %d fetches, want 2", n)
				}
				if tc.hang {
					as.Heal(oauthtest.EndpointJWKS)
				}
				mustLookup(t, s, kid, token)
			})
		})
	}
}

// TestRecovery: a server started while the AS is down answers "unavailable",
// then validates tokens once the AS is back, without restart; Ready flips.
func TestRecovery(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    oauthtest.Failure
	}{
		{"503", oauthtest.Failure{Status: http.StatusServiceUnavailable}},
		{"hang", oauthtest.Failure{Hang: true}},
		{"garbage", oauthtest.Failure{Body: "\x00\x01garbage"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{})
				as.Fail(oauthtest.EndpointJWKS, tc.f)
				var ev events
				s := newSet(t, as, jwks.Config{Observer: ev.observer()})
				err := s.Start(context.Background())
				wantErr(t, err, tollgate.ErrUnavailable, "jwks")
				if s.Ready() {
					t.Fatal("ready without keys")
				}
				token := as.JWT(oauthtest.TokenOptions{})
				kid := kidOf(t, token)
				_, err = s.Lookup(context.Background(), kid)
				wantErr(t, err, tollgate.ErrUnavailable, "jwks")
				_, err = s.Keys(context.Background())
				wantErr(t, err, tollgate.ErrUnavailable, "jwks")

				// Down for an hour: requests keep getting 503s, fetches stay
				// rate-limited.
				for range 60 {
					advance(time.Minute)
					_, err = s.Lookup(context.Background(), kid)
					wantErr(t, err, tollgate.ErrUnavailable, "jwks")
				}
				if n := as.Requests(oauthtest.EndpointJWKS); n > int(time.Hour/jwks.DefaultMinRefetchInterval)+2 {
					t.Fatalf("%d fetches in an hour of outage", n)
				}
				if _, failures, _ := ev.counts(); failures == 0 {
					t.Fatal("failures not reported")
				}

				as.Heal(oauthtest.EndpointJWKS)
				// Without any request, the background retry loads the keys
				// within MinRefreshInterval (the backoff's ceiling).
				advance(jwks.DefaultMinRefreshInterval)
				if !s.Ready() {
					t.Fatal("not ready after the AS came back")
				}
				mustLookup(t, s, kid, token)
				if keys, err := s.Keys(context.Background()); err != nil || len(keys) != 1 {
					t.Fatalf("Keys = %v, %v", keys, err)
				}
			})
		})
	}
}

// TestRecoveryByRequest: once the AS is back, a request (not only the
// background loop) loads the keys, as soon as the rate limit allows.
func TestRecoveryByRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusBadGateway})
		s := newSet(t, as, jwks.Config{MinRefetchInterval: time.Second, MinRefreshInterval: time.Hour})
		if err := s.Start(context.Background()); err == nil {
			t.Fatal("Start succeeded while the AS is down")
		}
		for range 20 { // let the backoff grow
			advance(time.Minute)
		}
		as.Heal(oauthtest.EndpointJWKS)
		token := as.JWT(oauthtest.TokenOptions{})
		mustLookup(t, s, kidOf(t, token), token)
	})
}
