package introspect_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/oauthtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newAS starts a test server that signs with ES256: generating RSA keys is
// slow under the race detector, and these tests sign no JWT.
func newAS(cfg oauthtest.Config) *oauthtest.Server {
	cfg.Algorithm = "ES256"
	return oauthtest.New(cfg)
}

// config returns a Config for as with the default client's credentials and
// audience. Its Logger discards: the failures these tests provoke on purpose
// would otherwise fill the test output.
func config(as *oauthtest.Server) introspect.Config {
	return introspect.Config{
		Endpoint:     as.IntrospectionURL(),
		Audiences:    []string{as.Audience()},
		ClientID:     oauthtest.DefaultClientID,
		ClientSecret: oauthtest.DefaultClientSecret,
		HTTPClient:   as.Client(),
		DisableCache: true, // the client itself; the cache has tests of its own
		Logger:       slog.New(slog.DiscardHandler),
	}
}

func newClient(t *testing.T, cfg introspect.Config) *introspect.Client {
	t.Helper()
	c, err := introspect.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// wantErr checks that err matches kind and names check.
func wantErr(t *testing.T, err, kind error, check string) *tollgate.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want %v (%s)", kind, check)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v; want %v", err, kind)
	}
	var te *tollgate.Error
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T); want a *tollgate.Error", err, err)
	}
	if te.Check != check {
		t.Fatalf("Check = %q (%v); want %q", te.Check, err, check)
	}
	return te
}

func TestValidate(t *testing.T) {
	as := newAS(oauthtest.Config{})
	defer as.Close()
	revoked := as.Opaque(oauthtest.TokenOptions{})
	as.Revoke(revoked)
	for _, tc := range []struct {
		name  string
		token string
		kind  error // nil: accepted
		check string
	}{
		{"active", as.Opaque(oauthtest.TokenOptions{}), nil, ""},
		{"unknown", "not-a-token-the-server-made", tollgate.ErrInvalidToken, "active"},
		{"revoked", revoked, tollgate.ErrInvalidToken, "active"},
		{"expired at the server", as.Opaque(oauthtest.TokenOptions{Lifetime: -time.Minute}), tollgate.ErrInvalidToken, "active"},
		{"wrong audience", as.Opaque(oauthtest.TokenOptions{Audience: []string{"https://other.example"}}), tollgate.ErrInvalidToken, "aud"},
		{"one of the audiences", as.Opaque(oauthtest.TokenOptions{Audience: []string{"https://other.example", as.Audience()}}), nil, ""},
		{"no audience", as.Opaque(oauthtest.TokenOptions{Claims: map[string]any{"aud": nil}}), tollgate.ErrInvalidToken, "aud"},
		{"foreign issuer", as.Opaque(oauthtest.TokenOptions{Claims: map[string]any{"iss": "https://evil.example"}}), tollgate.ErrInvalidToken, "iss"},
		{"sender-constrained cnf", as.Opaque(oauthtest.TokenOptions{Claims: map[string]any{"cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}}), tollgate.ErrInvalidToken, "cnf"},
		{"DPoP token type", as.Opaque(oauthtest.TokenOptions{Claims: map[string]any{"token_type": "DPoP"}}), tollgate.ErrInvalidToken, "token_type"},
		{"empty", "", tollgate.ErrInvalidToken, "format"},
		{"too long", strings.Repeat("a", introspect.DefaultMaxTokenBytes+1), tollgate.ErrInvalidToken, "size"},
		{"longest", strings.Repeat("a", introspect.DefaultMaxTokenBytes), tollgate.ErrInvalidToken, "active"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(as)
			cfg.Issuer = as.Issuer()
			cfg.Audiences = []string{as.Audience()}
			c := newClient(t, cfg)
			p, err := c.Validate(context.Background(), tc.token)
			if tc.kind != nil {
				wantErr(t, err, tc.kind, tc.check)
				return
			}
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if p.Kind() != tollgate.KindOpaque || p.Issuer() != as.Issuer() || !p.HasAudience(as.Audience()) {
				t.Errorf("principal %v %q %q", p.Kind(), p.Issuer(), p.Audiences())
			}
		})
	}
	if n := as.Requests(oauthtest.EndpointIntrospection); n != 11 {
		t.Errorf("introspection calls = %d; want 11 (none for the empty and the too long token)", n)
	}
}

func TestPrincipalMapping(t *testing.T) {
	as := newAS(oauthtest.Config{})
	defer as.Close()
	iat := time.Now().Add(-time.Minute).Truncate(time.Second)
	token := as.Opaque(oauthtest.TokenOptions{
		Subject: "alice", ClientID: "shop", Scopes: []string{"orders:read", "orders:write"},
		IssuedAt: iat, Lifetime: time.Hour,
		Claims: map[string]any{"username": "alice@example.com", "jti": "id-1", "tenant": "t-42"},
	})
	p, err := newClient(t, config(as)).Validate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject() != "alice" || p.ClientID() != "shop" || p.Username() != "alice@example.com" || p.TokenID() != "id-1" ||
		p.Issuer() != as.Issuer() || !p.Scopes().HasAll("orders:read", "orders:write") || !p.HasAudience(as.Audience()) {
		t.Errorf("principal: sub %q client %q user %q jti %q iss %q scopes %q aud %q",
			p.Subject(), p.ClientID(), p.Username(), p.TokenID(), p.Issuer(), p.Scopes(), p.Audiences())
	}
	if !p.IssuedAt().Equal(iat) || !p.ExpiresAt().Equal(iat.Add(time.Hour)) {
		t.Errorf("iat %v exp %v", p.IssuedAt(), p.ExpiresAt())
	}
	var claims struct {
		Tenant string `json:"tenant"`
		Active bool   `json:"active"`
	}
	if err := p.Claims(&claims); err != nil || claims.Tenant != "t-42" || !claims.Active {
		t.Errorf("Claims = %+v, %v", claims, err)
	}
}

// TestRequest checks what the client sends: POST, form-encoded token and
// token_type_hint, JSON accepted, and for each authentication method exactly
// its credentials.
func TestRequest(t *testing.T) {
	rsaKey := oauthtest.NewKey("RS256")
	ecKey := oauthtest.NewKey("ES256")
	edKey := oauthtest.NewKey("EdDSA")
	psKey := oauthtest.NewKeyFrom("PS256", rsaKey.Private())
	type sent struct {
		header http.Header
		form   url.Values
	}
	for _, tc := range []struct {
		name   string
		client oauthtest.Client
		cfg    func(*introspect.Config, *oauthtest.Server)
		check  func(t *testing.T, s sent)
	}{
		{
			name:   "client_secret_basic",
			client: oauthtest.Client{ID: "rs:1 é", Secret: "p@ss:w%rd+ /é"},
			cfg: func(c *introspect.Config, _ *oauthtest.Server) {
				c.ClientID, c.ClientSecret = "rs:1 é", "p@ss:w%rd+ /é"
			},
			check: func(t *testing.T, s sent) {
				// RFC 6749 2.3.1: form-urlencoded, then Basic.
				r := &http.Request{Header: s.header}
				u, p, ok := r.BasicAuth()
				if !ok || u != "rs%3A1+%C3%A9" || p != "p%40ss%3Aw%25rd%2B+%2F%C3%A9" {
					t.Errorf("basic credentials %q %q %v", u, p, ok)
				}
				if s.form.Has("client_secret") || s.form.Has("client_id") || s.form.Has("client_assertion") {
					t.Errorf("form has credentials too: %v", s.form)
				}
			},
		},
		{
			name:   "client_secret_post",
			client: oauthtest.Client{ID: "rs-post", Secret: "s3cr3t&x=y"},
			cfg: func(c *introspect.Config, _ *oauthtest.Server) {
				c.ClientID, c.ClientSecret, c.AuthMethod = "rs-post", "s3cr3t&x=y", introspect.ClientSecretPost
			},
			check: func(t *testing.T, s sent) {
				if s.header.Get("Authorization") != "" {
					t.Error("Authorization header sent")
				}
				if s.form.Get("client_id") != "rs-post" || s.form.Get("client_secret") != "s3cr3t&x=y" {
					t.Errorf("form %v", s.form)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runRequestCase(t, tc.client, tc.cfg, func(t *testing.T, h http.Header, f url.Values) { tc.check(t, sent{h, f}) })
		})
	}
	for _, k := range []*oauthtest.Key{rsaKey, psKey, ecKey, edKey} {
		for _, withIssuer := range []bool{false, true} {
			name := "private_key_jwt " + k.Algorithm()
			if withIssuer {
				name += " aud issuer"
			}
			t.Run(name, func(t *testing.T) {
				var assertions []string
				var wantAud string
				runRequestCase(t, oauthtest.Client{ID: "rs-jwt", Key: k}, func(c *introspect.Config, as *oauthtest.Server) {
					c.ClientID, c.ClientSecret, c.AuthMethod = "rs-jwt", "", introspect.PrivateKeyJWT
					c.ClientKey = introspect.ClientKey{Signer: k.Private(), Algorithm: k.Algorithm(), KeyID: k.ID()}
					wantAud = as.IntrospectionURL()
					if withIssuer {
						c.Issuer = as.Issuer()
						wantAud = as.Issuer()
					}
				}, func(t *testing.T, h http.Header, f url.Values) {
					if h.Get("Authorization") != "" || f.Has("client_secret") {
						t.Error("secret credentials sent")
					}
					if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" ||
						f.Get("client_id") != "rs-jwt" || strings.Count(f.Get("client_assertion"), ".") != 2 {
						t.Errorf("form %v", f)
					}
					a := f.Get("client_assertion")
					assertions = append(assertions, a)
					checkAssertion(t, a, k, wantAud)
				})
				if len(assertions) != 2 || assertions[0] == assertions[1] {
					t.Error("assertions are reused; want a fresh one (new jti) per call")
				}
			})
		}
	}
}

// checkAssertion decodes a client assertion (its signature is the server's
// business) and checks its header and claims: RFC 7523 section 3.
func checkAssertion(t *testing.T, assertion string, k *oauthtest.Key, wantAud string) {
	t.Helper()
	parts := strings.Split(assertion, ".")
	var hdr struct {
		Alg, Kid, Typ string
	}
	var claims struct {
		Iss, Sub, Aud, Jti string
		Exp, Iat           int64
	}
	for i, dst := range []any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, dst) != nil {
			t.Fatalf("segment %d of the assertion: %v", i, err)
		}
	}
	if hdr.Alg != k.Algorithm() || hdr.Kid != k.ID() || hdr.Typ != "JWT" {
		t.Errorf("header %+v", hdr)
	}
	if claims.Iss != "rs-jwt" || claims.Sub != "rs-jwt" || claims.Jti == "" || claims.Aud != wantAud ||
		claims.Exp-claims.Iat != 60 {
		t.Errorf("claims %+v", claims)
	}
}

// runRequestCase registers client, validates a token twice and hands each
// request to check; the validation must succeed.
func runRequestCase(t *testing.T, client oauthtest.Client, mod func(*introspect.Config, *oauthtest.Server), check func(*testing.T, http.Header, url.Values)) {
	var mu sync.Mutex
	var reqs []*http.Request
	as := newAS(oauthtest.Config{Clients: []oauthtest.Client{client}, OnRequest: func(ep oauthtest.Endpoint, r *http.Request) {
		if ep != oauthtest.EndpointIntrospection {
			return
		}
		_ = r.ParseForm()
		mu.Lock()
		reqs = append(reqs, r)
		mu.Unlock()
	}})
	defer as.Close()
	cfg := config(as)
	mod(&cfg, as)
	c := newClient(t, cfg)
	token := as.Opaque(oauthtest.TokenOptions{})
	for range 2 {
		if _, err := c.Validate(context.Background(), token); err != nil {
			t.Fatalf("rejected: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range reqs {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
			r.Header.Get("Accept") != "application/json" {
			t.Errorf("%s, Content-Type %q, Accept %q", r.Method, r.Header.Get("Content-Type"), r.Header.Get("Accept"))
		}
		if r.PostForm.Get("token") != token || r.PostForm.Get("token_type_hint") != "access_token" || r.URL.RawQuery != "" {
			t.Errorf("form %v, query %q", r.PostForm, r.URL.RawQuery)
		}
		check(t, r.Header, r.PostForm)
	}
}

// TestCredentialsRefused: the server refusing our own credentials is our
// configuration's fault: ErrUnavailable (503), never the caller's 401, and a
// failure event flagged CredentialsRejected.
func TestCredentialsRefused(t *testing.T) {
	otherKey := oauthtest.NewKey("ES256")
	as := newAS(oauthtest.Config{Clients: []oauthtest.Client{
		{ID: oauthtest.DefaultClientID, Secret: oauthtest.DefaultClientSecret},
		{ID: "rs-jwt", Key: oauthtest.NewKey("ES256")},
	}})
	defer as.Close()
	token := as.Opaque(oauthtest.TokenOptions{})
	for _, tc := range []struct {
		name   string
		mod    func(*introspect.Config)
		fail   int
		status int
	}{
		{"wrong secret basic", func(c *introspect.Config) { c.ClientSecret = "wrong" }, 0, 401},
		{"wrong secret post", func(c *introspect.Config) { c.ClientSecret, c.AuthMethod = "wrong", introspect.ClientSecretPost }, 0, 401},
		{"unknown client", func(c *introspect.Config) { c.ClientID = "nobody" }, 0, 401},
		{"wrong key", func(c *introspect.Config) {
			c.ClientID, c.ClientSecret, c.AuthMethod = "rs-jwt", "", introspect.PrivateKeyJWT
			c.ClientKey = introspect.ClientKey{Signer: otherKey.Private(), Algorithm: "ES256", KeyID: otherKey.ID()}
		}, 0, 401},
		{"403", func(*introspect.Config) {}, 403, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fail != 0 {
				as.Fail(oauthtest.EndpointIntrospection, oauthtest.Failure{Status: tc.fail})
				defer as.Heal(oauthtest.EndpointIntrospection)
			}
			var events []tollgate.IntrospectEvent
			var mu sync.Mutex
			cfg := config(as)
			cfg.Observer.OnIntrospectFailure = func(_ context.Context, e tollgate.IntrospectEvent) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, e)
			}
			tc.mod(&cfg)
			c := newClient(t, cfg)
			_, err := c.Validate(context.Background(), token)
			te := wantErr(t, err, tollgate.ErrUnavailable, "introspection")
			for _, s := range []string{string(cfg.ClientSecret), token} {
				if s != "" && strings.Contains(te.Error(), s) {
					t.Errorf("error %q reveals a secret or the token", te.Error())
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(events) != 1 || !events[0].CredentialsRejected || events[0].Status != tc.status || events[0].Endpoint != as.IntrospectionURL() {
				t.Errorf("events = %+v", events)
			}
		})
	}
	t.Run("passing twin", func(t *testing.T) {
		var rejected atomic.Bool
		cfg := config(as)
		cfg.Observer.OnIntrospectFailure = func(context.Context, tollgate.IntrospectEvent) { rejected.Store(true) }
		if _, err := newClient(t, cfg).Validate(context.Background(), token); err != nil || rejected.Load() {
			t.Fatalf("err = %v, failure event %v", err, rejected.Load())
		}
	})
}

// TestUnavailable: whatever goes wrong with the server, the answer is
// ErrUnavailable - never a 401 for a token we could not judge.
func TestUnavailable(t *testing.T) {
	big := `{"active":true,"x":"` + strings.Repeat("a", introspect.DefaultMaxResponseBytes) + `"}`
	for _, tc := range []struct {
		name string
		f    oauthtest.Failure
	}{
		{"500", oauthtest.Failure{Status: 500}},
		{"503", oauthtest.Failure{Status: 503}},
		{"400", oauthtest.Failure{Status: 400}},
		{"garbage", oauthtest.Failure{Body: "<html>oops</html>"}},
		{"empty body", oauthtest.Failure{Body: " "}},
		{"JSON array", oauthtest.Failure{Body: `[{"active":true}]`}},
		{"too large", oauthtest.Failure{Body: big}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := newAS(oauthtest.Config{})
			defer as.Close()
			token := as.Opaque(oauthtest.TokenOptions{})
			var failures atomic.Int32
			cfg := config(as)
			cfg.Observer.OnIntrospectFailure = func(_ context.Context, e tollgate.IntrospectEvent) {
				if !e.CredentialsRejected {
					failures.Add(1)
				}
			}
			c := newClient(t, cfg)
			as.Fail(oauthtest.EndpointIntrospection, tc.f)
			_, err := c.Validate(context.Background(), token)
			wantErr(t, err, tollgate.ErrUnavailable, "introspection")
			if failures.Load() != 1 {
				t.Errorf("failure events = %d, want 1", failures.Load())
			}
			as.Heal(oauthtest.EndpointIntrospection)
			if _, err := c.Validate(context.Background(), token); err != nil {
				t.Fatalf("passing twin: %v", err)
			}
		})
	}
	t.Run("down", func(t *testing.T) {
		as := newAS(oauthtest.Config{})
		token := as.Opaque(oauthtest.TokenOptions{})
		c := newClient(t, config(as))
		as.Close()
		_, err := c.Validate(context.Background(), token)
		wantErr(t, err, tollgate.ErrUnavailable, "introspection")
	})
	t.Run("hang", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			as := newAS(oauthtest.Config{InMemory: true})
			defer as.Close()
			token := as.Opaque(oauthtest.TokenOptions{})
			cfg := config(as)
			cfg.Timeout = 3 * time.Second
			c := newClient(t, cfg)
			as.Fail(oauthtest.EndpointIntrospection, oauthtest.Failure{Hang: true})
			start := time.Now()
			_, err := c.Validate(context.Background(), token)
			wantErr(t, err, tollgate.ErrUnavailable, "introspection")
			if d := time.Since(start); d != 3*time.Second {
				t.Errorf("gave up after %v, want the 3s timeout", d)
			}
			as.Heal(oauthtest.EndpointIntrospection)
			if _, err := c.Validate(context.Background(), token); err != nil {
				t.Fatalf("passing twin: %v", err)
			}
		})
	})
	t.Run("caller gives up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			as := newAS(oauthtest.Config{InMemory: true})
			defer as.Close()
			as.Fail(oauthtest.EndpointIntrospection, oauthtest.Failure{Hang: true})
			c := newClient(t, config(as))
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := c.Validate(ctx, as.Opaque(oauthtest.TokenOptions{}))
			wantErr(t, err, tollgate.ErrUnavailable, "introspection")
		})
	})
}

// TestNoRedirects: a redirect from the endpoint is not followed, since it
// would resend the token and our credentials elsewhere.
func TestNoRedirects(t *testing.T) {
	as := newAS(oauthtest.Config{})
	defer as.Close()
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, as.IntrospectionURL(), code)
			}))
			defer redirector.Close()
			var redirectChecked atomic.Bool
			base := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
				redirectChecked.Store(true)
				return nil
			}}
			cfg := config(as)
			cfg.Endpoint, cfg.HTTPClient = redirector.URL+"/introspect", base
			c := newClient(t, cfg)
			before := as.Requests(oauthtest.EndpointIntrospection)
			_, err := c.Validate(context.Background(), as.Opaque(oauthtest.TokenOptions{}))
			wantErr(t, err, tollgate.ErrUnavailable, "introspection")
			if as.Requests(oauthtest.EndpointIntrospection) != before || redirectChecked.Load() {
				t.Error("the redirect was followed")
			}
			base.CloseIdleConnections()
		})
	}
}

// TestHTTPClientNotModified: the caller's client may be shared; New must
// not change it.
func TestHTTPClientNotModified(t *testing.T) {
	as := newAS(oauthtest.Config{})
	defer as.Close()
	hc := as.Client()
	before := *hc
	c := newClient(t, config(as))
	if _, err := c.Validate(context.Background(), as.Opaque(oauthtest.TokenOptions{})); err != nil {
		t.Fatal(err)
	}
	if hc.CheckRedirect != nil || hc.Timeout != before.Timeout || hc.Transport != before.Transport || hc.Jar != before.Jar {
		t.Error("the caller's HTTP client was modified")
	}
}

func TestDiscovery(t *testing.T) {
	t.Run("RFC 8414 with an issuer path", func(t *testing.T) {
		as := newAS(oauthtest.Config{IssuerPath: "/tenants/a"})
		defer as.Close()
		cfg := config(as)
		cfg.Endpoint, cfg.Issuer = "", as.Issuer()
		c := newClient(t, cfg)
		for range 3 {
			if _, err := c.Validate(context.Background(), as.Opaque(oauthtest.TokenOptions{})); err != nil {
				t.Fatal(err)
			}
		}
		if ep, err := c.Endpoint(context.Background()); err != nil || ep != as.IntrospectionURL() {
			t.Errorf("Endpoint = %q, %v", ep, err)
		}
		if n := as.Requests(oauthtest.EndpointServerMetadata); n != 1 {
			t.Errorf("metadata fetched %d times, want once", n)
		}
	})
	t.Run("OpenID Connect fallback", func(t *testing.T) {
		as := newAS(oauthtest.Config{})
		defer as.Close()
		as.Fail(oauthtest.EndpointServerMetadata, oauthtest.Failure{Status: 404})
		cfg := config(as)
		cfg.Endpoint, cfg.Issuer = "", as.Issuer()
		if _, err := newClient(t, cfg).Validate(context.Background(), as.Opaque(oauthtest.TokenOptions{})); err != nil {
			t.Fatal(err)
		}
		if as.Requests(oauthtest.EndpointOpenIDConfiguration) != 1 {
			t.Error("OpenID configuration not read")
		}
	})
	as := newAS(oauthtest.Config{})
	defer as.Close()
	for _, tc := range []struct {
		name string
		doc  string // {ISSUER} and {EP} are replaced
	}{
		{"good", `{"issuer":"{ISSUER}","introspection_endpoint":"{EP}"}`},
		{"other issuer", `{"issuer":"https://evil.example","introspection_endpoint":"{EP}"}`},
		{"issuer with a trailing slash", `{"issuer":"{ISSUER}/","introspection_endpoint":"{EP}"}`},
		{"no endpoint", `{"issuer":"{ISSUER}"}`},
		{"endpoint over plain http", `{"issuer":"{ISSUER}","introspection_endpoint":"http://as.example/introspect"}`},
		{"endpoint not a string", `{"issuer":"{ISSUER}","introspection_endpoint":["{EP}"]}`},
		{"member names in another case", `{"ISSUER":"{ISSUER}","INTROSPECTION_ENDPOINT":"{EP}"}`},
		{"issuer twice", `{"issuer":"https://evil.example","issuer":"{ISSUER}","introspection_endpoint":"{EP}"}`},
		{"garbage", `<html>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var meta *httptest.Server
			meta = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				doc := strings.NewReplacer("{ISSUER}", meta.URL, "{EP}", as.IntrospectionURL()).Replace(tc.doc)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(doc))
			}))
			defer meta.Close()
			cfg := config(as)
			cfg.Endpoint, cfg.Issuer, cfg.HTTPClient = "", meta.URL, meta.Client()
			before := as.Requests(oauthtest.EndpointIntrospection)
			_, err := newClient(t, cfg).Validate(context.Background(), as.Opaque(oauthtest.TokenOptions{Claims: map[string]any{"iss": nil}}))
			if tc.name == "good" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			wantErr(t, err, tollgate.ErrUnavailable, "discovery")
			if as.Requests(oauthtest.EndpointIntrospection) != before {
				t.Error("the token was sent to an endpoint from unverified metadata")
			}
		})
	}
	t.Run("retry after a failure", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			as := newAS(oauthtest.Config{InMemory: true})
			defer as.Close()
			as.Fail(oauthtest.EndpointServerMetadata, oauthtest.Failure{Status: 500})
			as.Fail(oauthtest.EndpointOpenIDConfiguration, oauthtest.Failure{Status: 500})
			var failures atomic.Int32
			cfg := config(as)
			cfg.Endpoint, cfg.Issuer = "", as.Issuer()
			cfg.Observer.OnIntrospectFailure = func(context.Context, tollgate.IntrospectEvent) { failures.Add(1) }
			c := newClient(t, cfg)
			token := as.Opaque(oauthtest.TokenOptions{})
			_, err := c.Validate(context.Background(), token)
			wantErr(t, err, tollgate.ErrUnavailable, "discovery")
			as.Heal(oauthtest.EndpointServerMetadata)
			as.Heal(oauthtest.EndpointOpenIDConfiguration)
			// Within the retry interval, fail fast without asking again.
			_, err = c.Validate(context.Background(), token)
			wantErr(t, err, tollgate.ErrUnavailable, "discovery")
			if n := as.Requests(oauthtest.EndpointServerMetadata); n != 1 {
				t.Errorf("metadata requests = %d, want 1", n)
			}
			if failures.Load() != 1 {
				t.Errorf("failure events = %d, want 1", failures.Load())
			}
			time.Sleep(5 * time.Second)
			if _, err := c.Validate(context.Background(), token); err != nil {
				t.Fatalf("after the retry interval: %v", err)
			}
		})
	})
}

// TestConcurrencyLimit: at most MaxConcurrent calls reach the server; the
// others wait for a slot, or give up with their context.
func TestConcurrencyLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		as := newAS(oauthtest.Config{InMemory: true, OnRequest: func(ep oauthtest.Endpoint, _ *http.Request) {
			if ep == oauthtest.EndpointIntrospection {
				<-release
			}
		}})
		defer as.Close()
		cfg := config(as)
		cfg.MaxConcurrent = 2
		c := newClient(t, cfg)
		var wg sync.WaitGroup
		var ok atomic.Int32
		for range 5 {
			token := as.Opaque(oauthtest.TokenOptions{})
			wg.Go(func() {
				if _, err := c.Validate(context.Background(), token); err == nil {
					ok.Add(1)
				}
			})
		}
		synctest.Wait()
		if n := as.Requests(oauthtest.EndpointIntrospection); n != 2 {
			t.Errorf("%d calls in flight, want 2", n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.Validate(ctx, as.Opaque(oauthtest.TokenOptions{}))
		wantErr(t, err, tollgate.ErrUnavailable, "introspection")
		close(release)
		wg.Wait()
		if ok.Load() != 5 {
			t.Errorf("%d of 5 validated", ok.Load())
		}
	})
}

func TestNewErrors(t *testing.T) {
	rsaSmall, _ := rsa.GenerateKey(rand.Reader, 1024)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec := oauthtest.NewKey("ES256")
	aud := []string{"https://api.example"}
	good := introspect.Config{Endpoint: "https://as.example/introspect", Audiences: aud, ClientID: "rs", ClientSecret: "s"}
	jwtCfg := func(k introspect.ClientKey) introspect.Config {
		return introspect.Config{Endpoint: "https://as.example/introspect", Audiences: aud, ClientID: "rs", AuthMethod: introspect.PrivateKeyJWT, ClientKey: k}
	}
	for _, tc := range []struct {
		name string
		cfg  introspect.Config
		ok   bool
	}{
		{"good", good, true},
		{"issuer only", introspect.Config{Issuer: "https://as.example", Audiences: aud, ClientID: "rs", ClientSecret: "s"}, true},
		{"loopback http", introspect.Config{Endpoint: "http://127.0.0.1:9/introspect", Audiences: aud, ClientID: "rs", ClientSecret: "s"}, true},
		{"localhost http", introspect.Config{Endpoint: "http://as.localhost/introspect", Audiences: aud, ClientID: "rs", ClientSecret: "s"}, true},
		{"neither issuer nor endpoint", introspect.Config{Audiences: aud, ClientID: "rs", ClientSecret: "s"}, false},
		{"plain http endpoint", introspect.Config{Endpoint: "http://as.example/introspect", Audiences: aud, ClientID: "rs", ClientSecret: "s"}, false},
		{"plain http endpoint allowed", introspect.Config{Endpoint: "http://as.example/introspect", Audiences: aud, ClientID: "rs", ClientSecret: "s", InsecureAllowHTTP: true}, true},
		{"plain http issuer", introspect.Config{Issuer: "http://as.example", Audiences: aud, ClientID: "rs", ClientSecret: "s"}, false},
		{"issuer with user information", introspect.Config{Issuer: "https://u:p@as.example", Audiences: aud, ClientID: "rs", ClientSecret: "s"}, false},
		{"issuer with a query", introspect.Config{Issuer: "https://as.example/?tenant=a", Audiences: aud, ClientID: "rs", ClientSecret: "s"}, false},
		{"issuer with a query, endpoint configured", introspect.Config{Issuer: "https://as.example/?tenant=a", Endpoint: "https://as.example/introspect", Audiences: aud, ClientID: "rs", ClientSecret: "s"}, true},
		{"relative endpoint", introspect.Config{Endpoint: "/introspect", Audiences: aud, ClientID: "rs", ClientSecret: "s"}, false},
		{"no client id", introspect.Config{Endpoint: "https://as.example/introspect", Audiences: aud, ClientSecret: "s"}, false},
		{"no secret", introspect.Config{Endpoint: "https://as.example/introspect", Audiences: aud, ClientID: "rs"}, false},
		{"unknown method", introspect.Config{Endpoint: "https://as.example/introspect", Audiences: aud, ClientID: "rs", ClientSecret: "s", AuthMethod: "tls_client_auth"}, false},
		{"empty audience", introspect.Config{Endpoint: "https://as.example/introspect", ClientID: "rs", ClientSecret: "s", Audiences: []string{""}}, false},
		{"no audience", introspect.Config{Endpoint: "https://as.example/introspect", ClientID: "rs", ClientSecret: "s"}, false},
		{"any audience", introspect.Config{Endpoint: "https://as.example/introspect", InsecureAnyAudience: true, ClientID: "rs", ClientSecret: "s"}, true},
		{"any audience and audiences", introspect.Config{Endpoint: "https://as.example/introspect", Audiences: aud, InsecureAnyAudience: true, ClientID: "rs", ClientSecret: "s"}, false},
		{"timeout off", introspect.Config{Endpoint: "https://as.example/introspect", Audiences: aud, ClientID: "rs", ClientSecret: "s", Timeout: -1}, false},
		{"response limit off", introspect.Config{Endpoint: "https://as.example/introspect", Audiences: aud, ClientID: "rs", ClientSecret: "s", MaxResponseBytes: -1}, false},
		{"cache with a negative call timeout", introspect.Config{Endpoint: "https://as.example/introspect", Audiences: aud, ClientID: "rs", ClientSecret: "s", Cache: cache.Config{CallTimeout: -1}}, false},
		{"jwt", jwtCfg(introspect.ClientKey{Signer: ec.Private(), Algorithm: "ES256"}), true},
		{"jwt no key", jwtCfg(introspect.ClientKey{Algorithm: "ES256"}), false},
		{"jwt no alg", jwtCfg(introspect.ClientKey{Signer: ec.Private()}), false},
		{"jwt alg of another curve", jwtCfg(introspect.ClientKey{Signer: p384, Algorithm: "ES256"}), false},
		{"jwt alg of another type", jwtCfg(introspect.ClientKey{Signer: ec.Private(), Algorithm: "RS256"}), false},
		{"jwt HMAC", jwtCfg(introspect.ClientKey{Signer: ec.Private(), Algorithm: "HS256"}), false},
		{"jwt none", jwtCfg(introspect.ClientKey{Signer: ec.Private(), Algorithm: "none"}), false},
		{"jwt small RSA", jwtCfg(introspect.ClientKey{Signer: rsaSmall, Algorithm: "RS256"}), false},
		{"jwt and secret", func() introspect.Config {
			c := jwtCfg(introspect.ClientKey{Signer: ec.Private(), Algorithm: "ES256"})
			c.ClientSecret = "s"
			return c
		}(), false},
		{"secret and key", func() introspect.Config {
			c := good
			c.ClientKey = introspect.ClientKey{Signer: ec.Private(), Algorithm: "ES256"}
			return c
		}(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = slog.New(slog.DiscardHandler)
			c, err := introspect.New(tc.cfg)
			if tc.ok != (err == nil) {
				t.Fatalf("New: %v; want ok = %v", err, tc.ok)
			}
			if c != nil {
				_ = c.Close()
			}
		})
	}
}
