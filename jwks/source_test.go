package jwks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/internal/netpolicy"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
)

func TestDiscovery(t *testing.T) {
	for _, tc := range []struct {
		name       string
		issuerPath string
		discovery  jwks.Discovery
		failOIDC   int // status of the OIDC document, 0 for none
		wantOIDC   int // requests to each document
		wantOAuth  int
	}{
		{"oidc", "", jwks.DiscoveryOIDC, 0, 1, 0},
		{"oauth", "", jwks.DiscoveryOAuth, 0, 0, 1},
		{"oidc with path", "/tenants/a", jwks.DiscoveryOIDC, 0, 1, 0},
		{"oauth with path insertion", "/tenants/a", jwks.DiscoveryOAuth, 0, 0, 1},
		{"auto prefers oidc", "/tenants/a", jwks.DiscoveryAuto, 0, 1, 0},
		{"auto falls back on 404", "/tenants/a", jwks.DiscoveryAuto, http.StatusNotFound, 1, 1},
		{"auto falls back on 403", "", jwks.DiscoveryAuto, http.StatusForbidden, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{IssuerPath: tc.issuerPath})
				if tc.failOIDC != 0 {
					as.Fail(oauthtest.EndpointOpenIDConfiguration, oauthtest.Failure{Status: tc.failOIDC})
				}
				var ev events
				s := newSet(t, as, jwks.Config{Issuer: as.Issuer(), Discovery: tc.discovery, Observer: ev.observer()})
				if err := s.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				token := as.JWT(oauthtest.TokenOptions{})
				mustLookup(t, s, kidOf(t, token), token)
				if n := as.Requests(oauthtest.EndpointOpenIDConfiguration); n != tc.wantOIDC {
					t.Errorf("OIDC document fetched %d times, want %d", n, tc.wantOIDC)
				}
				if n := as.Requests(oauthtest.EndpointServerMetadata); n != tc.wantOAuth {
					t.Errorf("RFC 8414 document fetched %d times, want %d", n, tc.wantOAuth)
				}
				if f := ev.lastFetch(); f.URL != as.JWKSURL() {
					t.Errorf("fetch event URL %q, want %q", f.URL, as.JWKSURL())
				}
				// Refreshes read the JWK Set only; the metadata once.
				advance(jwks.DefaultMaxRefreshInterval)
				if as.Requests(oauthtest.EndpointJWKS) != 2 ||
					as.Requests(oauthtest.EndpointOpenIDConfiguration)+as.Requests(oauthtest.EndpointServerMetadata) != tc.wantOIDC+tc.wantOAuth {
					t.Error("the refresh read the metadata again")
				}
			})
		})
	}
}

// TestDiscoveryRejects: metadata documents that must not be trusted, each
// with its passing twin (the same server with the document healed).
func TestDiscoveryRejects(t *testing.T) {
	for _, tc := range []struct {
		name      string
		discovery jwks.Discovery
		doc       func(as *oauthtest.Server) string
		status    int
		wantFetch bool // the JWK Set is fetched in spite of it: never
		wantInErr string
	}{
		{"issuer mismatch", jwks.DiscoveryOIDC, func(as *oauthtest.Server) string {
			return metadata("https://evil.example.com", as.JWKSURL())
		}, 0, false, "names issuer"},
		{"issuer with trailing slash", jwks.DiscoveryOIDC, func(as *oauthtest.Server) string {
			return metadata(as.Issuer()+"/", as.JWKSURL())
		}, 0, false, "names issuer"},
		{"issuer case differs", jwks.DiscoveryOAuth, func(as *oauthtest.Server) string {
			return metadata(strings.ToUpper(as.Issuer()), as.JWKSURL())
		}, 0, false, "names issuer"},
		{"no issuer", jwks.DiscoveryOIDC, func(as *oauthtest.Server) string {
			return `{"jwks_uri":"` + as.JWKSURL() + `"}`
		}, 0, false, "names issuer"},
		{"no jwks_uri", jwks.DiscoveryOIDC, func(as *oauthtest.Server) string {
			return `{"issuer":"` + as.Issuer() + `"}`
		}, 0, false, "no jwks_uri"},
		{"jwks_uri over public http", jwks.DiscoveryOIDC, func(as *oauthtest.Server) string {
			return metadata(as.Issuer(), "http://keys.example.com/jwks")
		}, 0, false, "not an https URL"},
		{"jwks_uri not a string", jwks.DiscoveryOIDC, func(as *oauthtest.Server) string {
			return `{"issuer":"` + as.Issuer() + `","jwks_uri":42}`
		}, 0, false, "not a JSON object"},
		{"not JSON", jwks.DiscoveryOIDC, func(*oauthtest.Server) string { return "<html>" }, 0, false, "not a JSON object"},
		{"member names in another case", jwks.DiscoveryOIDC, func(as *oauthtest.Server) string {
			return `{"ISSUER":"` + as.Issuer() + `","JWKS_URI":"` + as.JWKSURL() + `"}`
		}, 0, false, "names issuer"},
		{"issuer twice", jwks.DiscoveryOIDC, func(as *oauthtest.Server) string {
			return `{"issuer":"https://evil.example.com","issuer":"` + as.Issuer() + `","jwks_uri":"` + as.JWKSURL() + `"}`
		}, 0, false, "not a JSON object"},
		{"server error, no fallback", jwks.DiscoveryAuto, nil, http.StatusInternalServerError, false, "500"},
		{"rate-limited, no fallback", jwks.DiscoveryAuto, nil, http.StatusTooManyRequests, false, "429"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{IssuerPath: "/t"})
				f := oauthtest.Failure{Status: tc.status}
				if tc.doc != nil {
					f.Body = tc.doc(as)
				}
				ep := oauthtest.EndpointOpenIDConfiguration
				if tc.discovery == jwks.DiscoveryOAuth {
					ep = oauthtest.EndpointServerMetadata
				}
				as.Fail(ep, f)
				var ev events
				s := newSet(t, as, jwks.Config{Issuer: as.Issuer(), Discovery: tc.discovery, Observer: ev.observer()})
				err := s.Start(context.Background())
				wantErr(t, err, tollgate.ErrUnavailable, "jwks")
				if !strings.Contains(err.Error(), tc.wantInErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantInErr)
				}
				if n := as.Requests(oauthtest.EndpointJWKS); n != 0 {
					t.Fatalf("the JWK Set was fetched %d times", n)
				}
				if n := as.Requests(oauthtest.EndpointServerMetadata); tc.discovery == jwks.DiscoveryAuto && n != 0 {
					t.Fatalf("fell back to RFC 8414 after %d", tc.status)
				}
				if fl := ev.lastFailure(); fl.Err == nil || !strings.Contains(fl.URL, "/.well-known/") {
					t.Fatalf("failure event = %+v", fl)
				}
				// Passing twin.
				as.Heal(ep)
				advance(jwks.DefaultMinRefetchInterval)
				if !s.Ready() {
					t.Fatal("not ready once the document is right")
				}
			})
		})
	}
}

func metadata(issuer, jwksURI string) string {
	b, _ := json.Marshal(map[string]string{"issuer": issuer, "jwks_uri": jwksURI})
	return string(b)
}

// TestRediscoveryAfterFailure: after a failed fetch the metadata is read
// again, so a moved jwks_uri is followed.
func TestRediscoveryAfterFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		s := newSet(t, as, jwks.Config{Issuer: as.Issuer(), Discovery: jwks.DiscoveryOIDC})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		// The JWK Set moves: the old URL now fails, the metadata names the
		// new one (here: the RFC 8414 document's URL, which serves a set).
		newKID := as.RotateKey().ID()
		moved := as.URL + "/.well-known/oauth-authorization-server"
		as.Fail(oauthtest.EndpointServerMetadata, oauthtest.Failure{Body: jwksBody(t, as)})
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusNotFound})
		as.Fail(oauthtest.EndpointOpenIDConfiguration, oauthtest.Failure{Body: metadata(as.Issuer(), moved)})
		advance(jwks.DefaultMinRefetchInterval)
		_, err := s.Lookup(context.Background(), newKID)
		wantErr(t, err, tollgate.ErrUnavailable, "jwks") // old URL: 404
		advance(jwks.DefaultMinRefetchInterval)
		if _, err := s.Lookup(context.Background(), newKID); err != nil {
			t.Fatalf("after rediscovery: %v", err)
		}
		if n := as.Requests(oauthtest.EndpointOpenIDConfiguration); n != 2 {
			t.Fatalf("metadata read %d times, want 2", n)
		}
	})
}

// jwksBody returns the JWK Set the server publishes now.
func jwksBody(t *testing.T, as *oauthtest.Server) string {
	t.Helper()
	resp, err := as.Client().Get(as.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := netpolicy.ReadBody(resp, 1<<20)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("JWK Set: %d %v", resp.StatusCode, err)
	}
	return string(body)
}

// TestRedirects: a JWK Set behind a redirect is followed to https or
// loopback, never to plain http elsewhere.
func TestRedirects(t *testing.T) {
	as := oauthtest.NewServer()
	defer as.Close()
	body := jwksBodyLoopback(t, as)
	mux := http.NewServeMux()
	mux.HandleFunc("/to-http", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://keys.example.test/jwks", http.StatusFound)
	})
	mux.HandleFunc("/to-https", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/jwks", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/to-loopback-http", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, as.JWKSURL(), http.StatusFound)
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) })
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	for _, tc := range []struct {
		name     string
		path     string
		insecure bool
		ok       bool
	}{
		{"https to http", "/to-http", false, false},
		{"https to https", "/to-https", false, true},
		{"loopback https to loopback http", "/to-loopback-http", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ev events
			s, err := jwks.New(jwks.Config{URL: srv.URL + tc.path, HTTPClient: srv.Client(), InsecureAllowHTTP: tc.insecure, Observer: ev.observer(), Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = s.Start(context.Background())
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tollgate.ErrUnavailable, "jwks")
			if !errors.Is(err, netpolicy.ErrRedirect) {
				t.Fatalf("err = %v, want a refused redirect", err)
			}
		})
	}
	if srv.Client().CheckRedirect != nil {
		t.Fatal("the caller's client was modified")
	}
	srv.Client().CloseIdleConnections()
}

func jwksBodyLoopback(t *testing.T, as *oauthtest.Server) string {
	t.Helper()
	resp, err := http.Get(as.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := netpolicy.ReadBody(resp, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
	return string(b)
}

// TestLimits tests each limit at and just past its value.
func TestLimits(t *testing.T) {
	oneKey := func(as *oauthtest.Server) json.RawMessage { return as.SigningKey().PublicJWK(false) }
	// setOfSize pads a one-key set with whitespace to exactly n bytes.
	setOfSize := func(as *oauthtest.Server, n int) string {
		s := jwkSet(oneKey(as))
		return s[:len(s)-1] + strings.Repeat(" ", n-len(s)) + "}"
	}
	// setOfKeys repeats the key under n key IDs.
	setOfKeys := func(as *oauthtest.Server, n int) string {
		members := make([]json.RawMessage, n)
		for i := range members {
			members[i] = withMembers(oneKey(as), map[string]any{"kid": fmt.Sprintf("k%d", i)})
		}
		return jwkSet(members...)
	}
	for _, tc := range []struct {
		name string
		cfg  jwks.Config
		body func(as *oauthtest.Server) string
		ok   bool
	}{
		{"default body size, at", jwks.Config{}, func(as *oauthtest.Server) string { return setOfSize(as, jwks.DefaultMaxBodyBytes) }, true},
		{"default body size, past", jwks.Config{}, func(as *oauthtest.Server) string { return setOfSize(as, jwks.DefaultMaxBodyBytes+1) }, false},
		{"huge body", jwks.Config{}, func(as *oauthtest.Server) string { return setOfSize(as, 8<<20) }, false},
		{"body size 4 KiB, at", jwks.Config{MaxBodyBytes: 4096}, func(as *oauthtest.Server) string { return setOfSize(as, 4096) }, true},
		{"body size 4 KiB, past", jwks.Config{MaxBodyBytes: 4096}, func(as *oauthtest.Server) string { return setOfSize(as, 4097) }, false},
		{"default key count, at", jwks.Config{}, func(as *oauthtest.Server) string { return setOfKeys(as, jwks.DefaultMaxKeys) }, true},
		{"default key count, past", jwks.Config{}, func(as *oauthtest.Server) string { return setOfKeys(as, jwks.DefaultMaxKeys+1) }, false},
		{"key count 3, at", jwks.Config{MaxKeys: 3}, func(as *oauthtest.Server) string { return setOfKeys(as, 3) }, true},
		{"key count 3, past", jwks.Config{MaxKeys: 3}, func(as *oauthtest.Server) string { return setOfKeys(as, 4) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{})
				as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Body: tc.body(as)})
				var ev events
				tc.cfg.Observer = ev.observer()
				s := newSet(t, as, tc.cfg)
				err := s.Start(context.Background())
				if tc.ok {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				wantErr(t, err, tollgate.ErrUnavailable, "jwks")
				if f := ev.lastFailure(); f.Err == nil || f.Status != http.StatusOK {
					t.Fatalf("failure event = %+v", f)
				}
			})
		})
	}
}

// TestTimeoutLimit: a fetch answered just within Timeout succeeds, one
// answered later fails at Timeout.
func TestTimeoutLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration
		ok    bool
	}{
		{"within", 2*time.Second - time.Millisecond, true},
		{"past", 2*time.Second + time.Millisecond, false},
		{"hang", time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{OnRequest: func(oauthtest.Endpoint, *http.Request) { time.Sleep(tc.delay) }})
				s := newSet(t, as, jwks.Config{Timeout: 2 * time.Second})
				start := time.Now()
				err := s.Start(context.Background())
				if tc.ok {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				wantErr(t, err, tollgate.ErrUnavailable, "jwks")
				if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 2*time.Second {
					t.Fatalf("err = %v after %v, want a timeout after 2s", err, time.Since(start))
				}
			})
		})
	}
}

// TestTimeoutCoversDiscovery: one Timeout bounds metadata and JWK Set
// together.
func TestTimeoutCoversDiscovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{OnRequest: func(oauthtest.Endpoint, *http.Request) { time.Sleep(time.Second) }})
		s := newSet(t, as, jwks.Config{Issuer: as.Issuer(), Discovery: jwks.DiscoveryOIDC, Timeout: 1500 * time.Millisecond})
		start := time.Now()
		err := s.Start(context.Background())
		wantErr(t, err, tollgate.ErrUnavailable, "jwks")
		if time.Since(start) != 1500*time.Millisecond {
			t.Fatalf("gave up after %v", time.Since(start))
		}
	})
}

// TestSkippedMembers: bad members are skipped and reported, the good ones
// used; a set with private key material does not lose its public keys.
func TestSkippedMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		good := as.SigningKey().PublicJWK(false)
		priv := oauthtest.NewKey("ES256")
		privJWK := withMembers(priv.PublicJWK(false), map[string]any{"d": "AAAA"})
		members := []json.RawMessage{
			withMembers(good, map[string]any{"kid": "enc", "use": "enc"}),
			privJWK,
			json.RawMessage(`{"kty":"oct","kid":"hmac","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}`),
			json.RawMessage(`{"kty":"RSA","kid":"broken","n":"AQAB","e":"AQAB"}`),
			json.RawMessage(`{"kty":"EC","kid":"wrong-alg","crv":"P-256","alg":"HS256","x":"x","y":"y"}`),
			json.RawMessage(`"not an object"`),
			json.RawMessage(`{"kty":"RSA","kid":42}`),
			good,
		}
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Body: jwkSet(members...)})
		var ev events
		s := newSet(t, as, jwks.Config{Observer: ev.observer()})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		token := as.JWT(oauthtest.TokenOptions{})
		mustLookup(t, s, kidOf(t, token), token)
		for _, kid := range []string{"enc", priv.ID(), "hmac", "broken", "wrong-alg"} {
			_, err := s.Lookup(context.Background(), kid)
			wantErr(t, err, tollgate.ErrInvalidToken, "kid")
		}
		ev.mu.Lock()
		defer ev.mu.Unlock()
		// Each fetch reports the members it skipped (the unknown kids above
		// triggered one refetch).
		fetches := as.Requests(oauthtest.EndpointJWKS)
		if len(ev.skipped) != (len(members)-1)*fetches {
			t.Fatalf("%d skipped reported over %d fetches, want %d each: %+v", len(ev.skipped), fetches, len(members)-1, ev.skipped)
		}
		for _, sk := range ev.skipped {
			if sk.URL != as.JWKSURL() || sk.Reason == "" || strings.Contains(sk.Reason, "AAAA") {
				t.Fatalf("skip event %+v", sk)
			}
		}
		if ev.skipped[1].KeyID != priv.ID() || !strings.Contains(ev.skipped[1].Reason, "private") {
			t.Fatalf("private key skip event %+v", ev.skipped[1])
		}
		if f := ev.fetches[0]; f.Keys != 1 {
			t.Fatalf("fetch event %+v, want 1 key", f)
		}
	})
}

// TestNoSecretsInEvents: a password in the URL never reaches an error or an
// event.
func TestNoSecretsInEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		u := strings.Replace(as.JWKSURL(), "://", "://user:s3cr3t@", 1)
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusUnauthorized})
		var ev events
		s := newSet(t, as, jwks.Config{URL: u, Observer: ev.observer()})
		err := s.Start(context.Background())
		wantErr(t, err, tollgate.ErrUnavailable, "jwks")
		f := ev.lastFailure()
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(f.URL, "s3cr3t") || strings.Contains(f.Err.Error(), "s3cr3t") {
			t.Fatalf("password leaked: %v / %+v", err, f)
		}
		if f.Status != http.StatusUnauthorized {
			t.Fatalf("status %d", f.Status)
		}
	})
}
