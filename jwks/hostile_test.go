package jwks_test

// Hostile authorization servers (or whoever sits on the network path to
// them): answers that trickle, stall, flood, lie about their keys or send the
// fetch elsewhere. Each test fails if the defence it names is removed, and
// none lets a fetch succeed that must fail or run past Config.Timeout.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/internal/netpolicy"
	"github.com/tollgate/tollgate/internal/rawhttp"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
)

// TestHostileSlowResponses: a server that trickles its headers or its body,
// or stalls part way, cannot hold a fetch past Config.Timeout (here its
// default): the fetch fails at that instant, and the keys stay unloaded. The
// twins trickle the same answer so that it ends just within the timeout.
func TestHostileSlowResponses(t *testing.T) {
	const timeout = jwks.DefaultTimeout
	for _, tc := range rawhttp.SlowAnswers(timeout) {
		t.Run(tc.Name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{})
				body := jwksBody(t, as)
				rs := rawhttp.New(t, func(w net.Conn, _ *http.Request) { tc.Serve(w, body) })
				s := newSet(t, as, jwks.Config{HTTPClient: rs.Client()})
				start := time.Now()
				err := s.Start(context.Background())
				if tc.OK {
					if err != nil || time.Since(start) >= timeout {
						t.Fatalf("Start = %v after %v", err, time.Since(start))
					}
					token := as.JWT(oauthtest.TokenOptions{})
					mustLookup(t, s, kidOf(t, token), token)
					return
				}
				wantErr(t, err, tollgate.ErrUnavailable, "jwks")
				if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != timeout {
					t.Fatalf("err = %v after %v; want the deadline after %v", err, time.Since(start), timeout)
				}
				if s.Ready() {
					t.Fatal("keys loaded from a slow-loris answer")
				}
			})
		})
	}
}

// TestHostileFloods: a server that answers without end, or announces a body
// larger than the limit, is cut off at the limit without waiting: the fetch
// fails at once with netpolicy.ErrBodyTooLarge, having read at most the limit
// (plus what the pipe and the transport's buffer hold); a gzip bomb is cut at
// the limit of what it inflates to. An error page is
// drained only a little, for the connection's sake. The flood stops at
// 16 MiB, so that without the limit the test fails instead of hanging.
func TestHostileFloods(t *testing.T) {
	const (
		floodSize = 16 << 20
		slack     = 64 << 10 // a pipe write and a transport buffer in flight
	)
	for _, tc := range []struct {
		name      string
		discovery bool
		serve     func(w net.Conn, r *http.Request, as *oauthtest.Server)
		maxRead   int64 // bytes the server may get written
		tooLarge  bool  // the error is netpolicy.ErrBodyTooLarge
	}{
		{"endless JWK Set", false, func(w net.Conn, _ *http.Request, _ *oauthtest.Server) {
			rawhttp.Flood(w, rawhttp.Head(200, -1)+`{"keys":[`, floodSize)
		}, jwks.DefaultMaxBodyBytes + slack, true},
		{"endless chunked JWK Set", false, func(w net.Conn, _ *http.Request, _ *oauthtest.Server) {
			h := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
			if _, err := w.Write([]byte(h)); err != nil {
				return
			}
			chunk := []byte(fmt.Sprintf("%x\r\n%s\r\n", 32<<10, strings.Repeat(" ", 32<<10)))
			for n := 0; n < floodSize; n += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, jwks.DefaultMaxBodyBytes + slack, true},
		{"huge Content-Length announced", false, func(w net.Conn, _ *http.Request, _ *oauthtest.Server) {
			rawhttp.Flood(w, rawhttp.Head(200, 1<<30), floodSize)
		}, slack, true},
		{"gzip bomb", false, func(w net.Conn, _ *http.Request, _ *oauthtest.Server) {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			_, _ = zw.Write([]byte(`{"keys":[`))
			_, _ = zw.Write(bytes.Repeat([]byte(" "), floodSize))
			_ = zw.Close()
			h := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", z.Len())
			_, _ = w.Write(append([]byte(h), z.Bytes()...))
		}, slack, true},
		{"endless error page", false, func(w net.Conn, _ *http.Request, _ *oauthtest.Server) {
			rawhttp.Flood(w, rawhttp.Head(500, -1), floodSize)
		}, slack, false},
		{"endless discovery document", true, func(w net.Conn, _ *http.Request, _ *oauthtest.Server) {
			rawhttp.Flood(w, rawhttp.Head(200, -1)+`{"issuer":`, floodSize)
		}, jwks.DefaultMaxBodyBytes + slack, true},
		{"endless JWK Set after honest discovery", true, func(w net.Conn, r *http.Request, as *oauthtest.Server) {
			if strings.HasSuffix(r.URL.Path, "/openid-configuration") {
				doc := metadata(as.Issuer(), as.JWKSURL())
				_, _ = w.Write([]byte(rawhttp.Head(200, len(doc)) + doc))
				return
			}
			rawhttp.Flood(w, rawhttp.Head(200, -1)+`{"keys":[`, floodSize)
		}, jwks.DefaultMaxBodyBytes + slack, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{})
				rs := rawhttp.New(t, func(w net.Conn, r *http.Request) { tc.serve(w, r, as) })
				cfg := jwks.Config{HTTPClient: rs.Client()}
				if tc.discovery {
					cfg.Issuer, cfg.Discovery = as.Issuer(), jwks.DiscoveryOIDC
				}
				s := newSet(t, as, cfg)
				start := time.Now()
				err := s.Start(context.Background())
				wantErr(t, err, tollgate.ErrUnavailable, "jwks")
				if time.Since(start) != 0 {
					t.Fatalf("the fetch took %v: it waited for the flood", time.Since(start))
				}
				if tc.tooLarge != errors.Is(err, netpolicy.ErrBodyTooLarge) {
					t.Fatalf("err = %v; want body too large: %v", err, tc.tooLarge)
				}
				_ = s.Close() // the flood has ended once the connection is gone
				if n := rs.Written(); n > tc.maxRead {
					t.Fatalf("the server wrote %d bytes into the fetch; at most %d may be read", n, tc.maxRead)
				}
			})
		})
	}
}

// TestHostileHugeDiscoveryDocument: the metadata document obeys the same
// MaxBodyBytes as the JWK Set, at its default: a document of exactly the limit
// is read, one byte more is refused before the JWK Set is fetched.
func TestHostileHugeDiscoveryDocument(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		ok   bool
	}{
		{"at the limit", jwks.DefaultMaxBodyBytes, true},
		{"one byte past", jwks.DefaultMaxBodyBytes + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{})
				doc := metadata(as.Issuer(), as.JWKSURL())
				doc = doc[:len(doc)-1] + strings.Repeat(" ", tc.size-len(doc)) + "}"
				as.Fail(oauthtest.EndpointOpenIDConfiguration, oauthtest.Failure{Body: doc})
				s := newSet(t, as, jwks.Config{Issuer: as.Issuer(), Discovery: jwks.DiscoveryOIDC})
				err := s.Start(context.Background())
				if tc.ok {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				wantErr(t, err, tollgate.ErrUnavailable, "jwks")
				if !errors.Is(err, netpolicy.ErrBodyTooLarge) {
					t.Fatalf("err = %v, want body too large", err)
				}
				if n := as.Requests(oauthtest.EndpointJWKS); n != 0 {
					t.Fatalf("the JWK Set was fetched %d times", n)
				}
			})
		})
	}
}

// TestHostileThousandsOfKeys: a set of 10,000 members (each tiny, so that
// the body stays far under its limit) fails on the key count before any
// member is parsed - no member is reported skipped - and the twin of
// DefaultMaxKeys real keys loads.
func TestHostileThousandsOfKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		ok   bool
	}{
		{"default count (twin)", jwks.DefaultMaxKeys, true},
		{"ten thousand", 10_000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{})
				members := make([]json.RawMessage, tc.n)
				for i := range members {
					members[i] = json.RawMessage(fmt.Sprintf(`{"kty":"RSA","kid":"k%d"}`, i))
				}
				members[0] = as.SigningKey().PublicJWK(false)
				as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Body: jwkSet(members...)})
				var ev events
				s := newSet(t, as, jwks.Config{Observer: ev.observer()})
				err := s.Start(context.Background())
				_, _, skipped := ev.counts()
				if tc.ok {
					if err != nil || skipped != tc.n-1 {
						t.Fatalf("Start = %v, %d skipped", err, skipped)
					}
					return
				}
				wantErr(t, err, tollgate.ErrUnavailable, "jwks")
				if !strings.Contains(err.Error(), "more than the limit") || skipped != 0 {
					t.Fatalf("err = %v, %d members parsed and skipped; want the count refused first", err, skipped)
				}
			})
		})
	}
}

// TestHostilePrivateKeys: a server that publishes private keys (a leaked
// signing key, or a symmetric one) has them refused, even when they are all
// it publishes: the fetch fails, nothing is used, and the token signed by
// that key is never accepted. The twin publishes the same key's public half.
func TestHostilePrivateKeys(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members func(t *testing.T, as *oauthtest.Server) []json.RawMessage
		ok      bool
	}{
		{"public half (twin)", func(t *testing.T, as *oauthtest.Server) []json.RawMessage {
			return []json.RawMessage{as.SigningKey().PublicJWK(false)}
		}, true},
		{"private RSA key", func(t *testing.T, as *oauthtest.Server) []json.RawMessage {
			return []json.RawMessage{privateJWK(t, as.SigningKey())}
		}, false},
		{"public key with a private exponent member", func(t *testing.T, as *oauthtest.Server) []json.RawMessage {
			return []json.RawMessage{withMembers(as.SigningKey().PublicJWK(false), map[string]any{"d": "AQAB"})}
		}, false},
		{"symmetric key under the same kid", func(t *testing.T, as *oauthtest.Server) []json.RawMessage {
			return []json.RawMessage{json.RawMessage(`{"kty":"oct","kid":"` + as.SigningKey().ID() + `","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}`)}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{})
				as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Body: jwkSet(tc.members(t, as)...)})
				var ev events
				s := newSet(t, as, jwks.Config{Observer: ev.observer()})
				v := newValidator(t, as, s)
				token := as.JWT(oauthtest.TokenOptions{})
				err := s.Start(context.Background())
				_, verr := v.Validate(context.Background(), token)
				if tc.ok {
					if err != nil || verr != nil {
						t.Fatalf("Start = %v, Validate = %v", err, verr)
					}
					return
				}
				wantErr(t, err, tollgate.ErrUnavailable, "jwks")
				wantErr(t, verr, tollgate.ErrUnavailable, "jwks")
				ev.mu.Lock()
				defer ev.mu.Unlock()
				if len(ev.skipped) == 0 || !strings.Contains(ev.skipped[0].Reason, "private or symmetric") {
					t.Fatalf("skip events %+v, want the private key reported", ev.skipped)
				}
			})
		})
	}
}

// TestHostileWrongKeyTypes: a server that publishes, under the kid of the
// token, a key of another type, for another use or for another algorithm has
// the token rejected as invalid - never verified with the wrong key - and an
// HS256 token signed with a symmetric key the server slipped in is refused
// by the algorithm allowlist. The twin publishes the right key.
func TestHostileWrongKeyTypes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hs256 bool // the token is HS256, signed with the slipped-in secret
		jwk   func(as *oauthtest.Server) json.RawMessage
		check string // "" for the twin
	}{
		{"the right key (twin)", false, func(as *oauthtest.Server) json.RawMessage {
			return as.SigningKey().PublicJWK(false)
		}, ""},
		{"EC key under the RSA token's kid", false, func(as *oauthtest.Server) json.RawMessage {
			return oauthtest.NewKey("ES256").WithID(as.SigningKey().ID()).PublicJWK(false)
		}, "key"},
		{"Ed25519 key without alg under the kid", false, func(as *oauthtest.Server) json.RawMessage {
			return oauthtest.NewKey("EdDSA").WithID(as.SigningKey().ID()).PublicJWK(true)
		}, "key"},
		{"the RSA key restricted to PS256", false, func(as *oauthtest.Server) json.RawMessage {
			return withMembers(as.SigningKey().PublicJWK(false), map[string]any{"alg": "PS256"})
		}, "key"},
		{"the RSA key for encryption", false, func(as *oauthtest.Server) json.RawMessage {
			return withMembers(as.SigningKey().PublicJWK(false), map[string]any{"use": "enc"})
		}, "kid"},
		{"symmetric key and an HS256 token", true, func(as *oauthtest.Server) json.RawMessage {
			return json.RawMessage(`{"kty":"oct","kid":"` + as.SigningKey().ID() + `","k":"` + base64.RawURLEncoding.EncodeToString(hmacSecret) + `"}`)
		}, "alg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{})
				// The right key stays published too, under another kid, so
				// that the set loads and the lookup finds only the wrong one.
				other := withMembers(as.SigningKey().PublicJWK(false), map[string]any{"kid": "other"})
				as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Body: jwkSet(tc.jwk(as), other)})
				s := newSet(t, as, jwks.Config{})
				v := newValidator(t, as, s)
				token := as.JWT(oauthtest.TokenOptions{})
				if tc.hs256 {
					token = signHS256(t, token, as.SigningKey().ID())
				}
				p, err := v.Validate(context.Background(), token)
				if tc.check == "" {
					if err != nil || p == nil {
						t.Fatalf("Validate = %v", err)
					}
					return
				}
				if p != nil {
					t.Fatal("a token was accepted with the wrong key")
				}
				wantErr(t, err, tollgate.ErrInvalidToken, tc.check)
			})
		})
	}
}

var hmacSecret = []byte("a secret the hostile server published!!")

// signHS256 re-signs the claims of token with HS256 and hmacSecret.
func signHS256(t *testing.T, token, kid string) string {
	t.Helper()
	payload := strings.Split(token, ".")[1]
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"` + kid + `","typ":"at+jwt"}`))
	mac := hmac.New(sha256.New, hmacSecret)
	mac.Write([]byte(h + "." + payload))
	return h + "." + payload + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// TestHostileRedirects: redirects that would downgrade a fetch to plain
// http, leave http(s) or never end are refused, for the JWK Set and for the
// discovery document; a redirect to another host over https is followed (the
// configured host chose to send us there, and TLS still authenticates the
// other end), without the credentials of the configured URL.
func TestHostileRedirects(t *testing.T) {
	as := oauthtest.NewServer()
	defer as.Close()
	body := jwksBodyLoopback(t, as)
	var loops atomic.Int64
	var elsewhereAuth atomic.Value
	elsewhereAuth.Store("")
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) })
	mux.HandleFunc("/elsewhere/jwks", func(w http.ResponseWriter, r *http.Request) {
		elsewhereAuth.Store(r.Header.Get("Authorization"))
		_, _ = w.Write([]byte(body))
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		loops.Add(1)
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/to-http-elsewhere", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://keys.example.com/jwks", http.StatusFound)
	})
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	var srv *httptest.Server
	mux.HandleFunc("/to-another-host", func(w http.ResponseWriter, r *http.Request) {
		// example.com is in the test certificate; the client's dialer
		// below takes it to this same server.
		http.Redirect(w, r, "https://example.com:"+srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]+"/elsewhere/jwks", http.StatusFound)
	})
	mux.HandleFunc("/issuer/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://as.example.com/.well-known/openid-configuration", http.StatusMovedPermanently)
	})
	srv = httptest.NewTLSServer(mux)
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	defer client.CloseIdleConnections()

	for _, tc := range []struct {
		name   string
		cfg    jwks.Config
		ok     bool
		inErr  string
		nLoops int64
	}{
		{name: "https to another https host (twin)", cfg: jwks.Config{URL: strings.Replace(srv.URL, "://", "://user:s3cr3t@", 1) + "/to-another-host"}, ok: true},
		{name: "https to http on another host", cfg: jwks.Config{URL: srv.URL + "/to-http-elsewhere"}, inErr: "plain http"},
		{name: "https to another scheme", cfg: jwks.Config{URL: srv.URL + "/to-file"}, inErr: `scheme "file"`},
		{name: "redirect loop", cfg: jwks.Config{URL: srv.URL + "/loop"}, inErr: "more than 10 redirects", nLoops: netpolicy.MaxRedirects},
		{name: "discovery document to plain http", cfg: jwks.Config{Issuer: srv.URL + "/issuer", Discovery: jwks.DiscoveryOIDC}, inErr: "plain http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loops.Store(0)
			cfg := tc.cfg
			cfg.HTTPClient, cfg.Timeout = client, 5*time.Second
			s, err := jwks.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = s.Start(context.Background())
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if got := elsewhereAuth.Load().(string); got != "" {
					t.Fatalf("the other host received Authorization %q", got)
				}
				return
			}
			wantErr(t, err, tollgate.ErrUnavailable, "jwks")
			if !errors.Is(err, netpolicy.ErrRedirect) || !strings.Contains(err.Error(), tc.inErr) {
				t.Fatalf("err = %v, want a refused redirect (%s)", err, tc.inErr)
			}
			if loops.Load() != tc.nLoops {
				t.Fatalf("%d requests to the loop, want %d", loops.Load(), tc.nLoops)
			}
		})
	}
}

// TestHostileHugeResponseHeaders: with its own client (no HTTPClient), a set
// refuses an answer whose headers exceed
// netpolicy.DefaultMaxResponseHeaderBytes - net/http alone would read 10 MiB
// of them - and reads the same answer with ordinary headers (the twin).
func TestHostileHugeResponseHeaders(t *testing.T) {
	as := oauthtest.NewServer()
	defer as.Close()
	body := jwksBodyLoopback(t, as)
	for _, tc := range []struct {
		name string
		pad  int
		ok   bool
	}{
		{"ordinary headers (twin)", 0, true},
		{"1 MiB of headers", 1 << 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.pad > 0 {
					w.Header().Set("X-Pad", strings.Repeat("a", tc.pad))
				}
				_, _ = w.Write([]byte(body))
			}))
			defer srv.Close()
			s, err := jwks.New(jwks.Config{URL: srv.URL + "/jwks"})
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
			if !strings.Contains(err.Error(), "headers exceeded") {
				t.Fatalf("err = %v, want the header limit", err)
			}
		})
	}
}
