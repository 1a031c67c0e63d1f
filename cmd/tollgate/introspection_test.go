package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/oauthtest"
)

// introspectionYAML is a proxy configuration whose tokens are introspected;
// with jwt, the issuer's JWTs are validated locally as well (hybrid).
func introspectionYAML(as *oauthtest.Server, upstreamURL, credentials string, jwt bool) string {
	y := proxyYAML(as.Issuer(), upstreamURL, fmt.Sprintf(`
introspection:
  issuer: %s
  audiences: [%s]
  client_id: %s
%s
`, as.Issuer(), testAudience, oauthtest.DefaultClientID, credentials))
	if !jwt {
		// No issuers: every token is introspected.
		i := strings.Index(y, "issuers:")
		j := strings.Index(y, "realm:")
		y = y[:i] + y[j:]
	}
	return y
}

func TestProxyIntrospection(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	t.Setenv("TOLLGATE_TEST_INTROSPECTION_SECRET", oauthtest.DefaultClientSecret)
	s := startServer(t, "proxy", introspectionYAML(as, up.URL, "  client_secret: {env: TOLLGATE_TEST_INTROSPECTION_SECRET}", false))

	read := as.Opaque(oauthtest.TokenOptions{Subject: "olga", ClientID: "app-9", Scopes: []string{"orders:read"}})
	revoked := as.Opaque(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	as.Revoke(revoked)
	otherAud := as.Opaque(oauthtest.TokenOptions{Scopes: []string{"orders:read"}, Audience: []string{"https://other.example"}})

	for _, tc := range []struct {
		name   string
		token  string
		method string
		status int
	}{
		{"active", read, "GET", 200},
		{"active, missing scope", read, "POST", 403},
		{"revoked", revoked, "GET", 401},
		{"other audience", otherAud, "GET", 401},
		{"unknown", "not-a-token-the-as-issued", "GET", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := s.do(t, tc.method, "/orders", bearer(tc.token))
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.status == 200 {
				got := up.received(t)
				if got.Header.Get("X-Auth-Subject") != "olga" || got.Header.Get("X-Auth-Client-Id") != "app-9" ||
					got.Header.Get("X-Auth-Issuer") != as.Issuer() {
					t.Errorf("identity headers: %v", got.Header)
				}
			}
		})
	}

	t.Run("introspection endpoint down", func(t *testing.T) {
		fresh := as.Opaque(oauthtest.TokenOptions{Scopes: []string{"orders:read"}}) // not cached
		as.Fail(oauthtest.EndpointIntrospection, oauthtest.Failure{Status: http.StatusBadGateway})
		defer as.Heal(oauthtest.EndpointIntrospection)
		res, _ := s.do(t, "GET", "/orders", bearer(fresh))
		if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || res.Header.Get("WWW-Authenticate") != "" {
			t.Errorf("%d, Retry-After %q, WWW-Authenticate %q; want 503 with Retry-After, no challenge",
				res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("WWW-Authenticate"))
		}
	})

	code, metrics := s.opsGet(t, "/metrics")
	for _, want := range []string{
		`tollgate_introspection_requests_total{active="true"} 2`,
		`tollgate_introspection_failures_total{reason="error"} 1`,
		`tollgate_cache_lookups_total{cache="introspection",result="hit"} 1`,
	} {
		if code != 200 || !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, _ := s.opsGet(t, "/readyz"); code != 200 {
		t.Errorf("/readyz without issuers: %d, want 200", code)
	}
	assertNoToken(t, s.logs.String(), read)
	if strings.Contains(s.logs.String(), oauthtest.DefaultClientSecret) {
		t.Error("the client secret appears in the logs")
	}
}

// TestProxyIntrospectionCredentials checks that refused credentials are
// 503 (nobody judged the token), counted as such.
func TestProxyIntrospectionCredentials(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("not-the-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "proxy", introspectionYAML(as, up.URL, "  client_secret: {file: "+secretFile+"}", false))
	token := as.Opaque(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	res, _ := s.do(t, "GET", "/orders", bearer(token))
	if res.StatusCode != 503 {
		t.Errorf("status %d, want 503", res.StatusCode)
	}
	if _, m := s.opsGet(t, "/metrics"); !strings.Contains(m, `tollgate_introspection_failures_total{reason="credentials"} 1`) {
		t.Error("refused credentials not counted")
	}
	if strings.Contains(s.logs.String(), "not-the-secret") {
		t.Error("the client secret appears in the logs")
	}
}

// TestProxyIntrospectionAnyAudience checks that insecure_any_audience reaches
// the introspection client: a token for another API is let through, and the
// option is logged once at start. The twin is TestProxyIntrospection's
// "other audience" (401 with audiences).
func TestProxyIntrospectionAnyAudience(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	y := introspectionYAML(as, up.URL, "  client_secret: {value: "+oauthtest.DefaultClientSecret+"}", false)
	y = strings.Replace(y, fmt.Sprintf("  audiences: [%s]\n", testAudience), "  insecure_any_audience: true\n", 1)
	s := startServer(t, "proxy", y)
	otherAud := as.Opaque(oauthtest.TokenOptions{Scopes: []string{"orders:read"}, Audience: []string{"https://other.example"}})
	if res, _ := s.do(t, "GET", "/orders", bearer(otherAud)); res.StatusCode != 200 {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	if n := strings.Count(s.logs.String(), "InsecureAnyAudience is set"); n != 1 {
		t.Errorf("InsecureAnyAudience logged %d times, want once:\n%s", n, s.logs.String())
	}
}

// TestProxyHybrid checks that the issuer's JWTs are validated locally while
// opaque tokens are introspected.
func TestProxyHybrid(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	s := startServer(t, "proxy", introspectionYAML(as, up.URL, "  client_secret: {value: "+oauthtest.DefaultClientSecret+"}", true))
	jwt := as.JWT(oauthtest.TokenOptions{Subject: "jay", Scopes: []string{"orders:read"}})
	opaque := as.Opaque(oauthtest.TokenOptions{Subject: "olga", Scopes: []string{"orders:read"}})
	foreign := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}, Key: oauthtest.NewKey("ES256")})

	before := as.Requests(oauthtest.EndpointIntrospection)
	if res, _ := s.do(t, "GET", "/orders", bearer(jwt)); res.StatusCode != 200 || up.received(t).Header.Get("X-Auth-Subject") != "jay" {
		t.Errorf("JWT: status %d", res.StatusCode)
	}
	// A JWT of a configured issuer is judged locally, even when refused.
	if res, _ := s.do(t, "GET", "/orders", bearer(foreign)); res.StatusCode != 401 {
		t.Errorf("foreign JWT: status %d, want 401", res.StatusCode)
	}
	if n := as.Requests(oauthtest.EndpointIntrospection); n != before {
		t.Errorf("JWTs of a configured issuer were introspected (%d calls)", n-before)
	}
	if res, _ := s.do(t, "GET", "/orders", bearer(opaque)); res.StatusCode != 200 || up.received(t).Header.Get("X-Auth-Subject") != "olga" {
		t.Errorf("opaque: status %d", res.StatusCode)
	}
	if n := as.Requests(oauthtest.EndpointIntrospection); n != before+1 {
		t.Errorf("opaque token: %d introspection calls, want 1", n-before)
	}
}

// TestProxyIntrospectionPrivateKeyJWT authenticates to the introspection
// endpoint with a private key read from a PEM file.
func TestProxyIntrospectionPrivateKeyJWT(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	key := oauthtest.NewKey("ES256")
	as.AddClient(oauthtest.Client{ID: "keyed-api", Key: key})
	der, err := x509.MarshalPKCS8PrivateKey(key.Private())
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	y := introspectionYAML(as, up.URL, fmt.Sprintf(`  auth_method: private_key_jwt
  client_key: {file: %s}
  client_key_algorithm: ES256
  client_key_id: %s`, keyFile, key.ID()), false)
	y = strings.Replace(y, "client_id: "+oauthtest.DefaultClientID, "client_id: keyed-api", 1)
	s := startServer(t, "proxy", y)
	token := as.Opaque(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	if res, _ := s.do(t, "GET", "/orders", bearer(token)); res.StatusCode != 200 {
		t.Errorf("status %d, want 200", res.StatusCode)
	}
	if strings.Contains(s.logs.String(), "PRIVATE KEY") {
		t.Error("the key appears in the logs")
	}
}

func TestIntrospectionConfigErrors(t *testing.T) {
	base := `
rules:
  - match: GET /orders
proxy:
  upstream: http://127.0.0.1:9000
introspection:
  issuer: https://as.example.com/
  audiences: [https://api.example.com]
  client_id: api
  client_secret: {value: s}
`
	if _, err := loadString(t, base, needProxy, nil); err != nil {
		t.Fatalf("twin: %v", err)
	}
	for _, tc := range []struct {
		name, old, new string
		want           []string
	}{
		{"no issuer nor endpoint", "  issuer: https://as.example.com/\n", "", []string{"introspection.issuer: issuer or endpoint is required"}},
		{"http endpoint", "  issuer: https://as.example.com/\n", "  endpoint: http://as.example.com/introspect\n",
			[]string{"introspection.endpoint:", "https"}},
		{"no audience", "  audiences: [https://api.example.com]\n", "", []string{"introspection.audiences: at least one audience"}},
		{"audiences and any audience", "  audiences: [https://api.example.com]\n", "  audiences: [https://api.example.com]\n  insecure_any_audience: true\n",
			[]string{"introspection.insecure_any_audience: set with audiences"}},
		{"endpoint with user information", "  issuer: https://as.example.com/\n", "  endpoint: https://rs:hunter2@as.example.com/introspect\n",
			[]string{"introspection.endpoint: must not have user information"}},
		{"http endpoint with a password", "  issuer: https://as.example.com/\n", "  endpoint: http://rs:hunter2@as.example.com/introspect\n",
			[]string{"introspection.endpoint:", "https"}},
		{"endpoint without https://, with a password", "  issuer: https://as.example.com/\n", "  endpoint: rs:hunter2@as.example.com/introspect\n",
			[]string{"introspection.endpoint:"}},
		{"unparsable endpoint with a password", "  issuer: https://as.example.com/\n", "  endpoint: https://rs:hunter2@as.example.com/%zz\n",
			[]string{"introspection.endpoint: not a valid URL"}},
		{"no client id", "  client_id: api\n", "", []string{"introspection.client_id: required"}},
		{"no secret", "  client_secret: {value: s}\n", "", []string{"introspection.client_secret: required for client_secret_basic"}},
		{"unknown method", "  client_id: api\n", "  client_id: api\n  auth_method: tls_client_auth\n", []string{"introspection.auth_method:"}},
		{"private_key_jwt without key", "  client_secret: {value: s}\n", "  auth_method: private_key_jwt\n",
			[]string{"introspection.client_key: required", "introspection.client_key_algorithm: required"}},
		{"not a key", "  client_secret: {value: s}\n", "  auth_method: private_key_jwt\n  client_key: {value: nope}\n  client_key_algorithm: ES256\n",
			[]string{"introspection.client_key: not a PEM private key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString(t, strings.Replace(base, tc.old, tc.new, 1), needProxy, nil)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error quotes the password:\n%v", err)
			}
		})
	}
	// Twin of "no audience".
	if _, err := loadString(t, strings.Replace(base, "  audiences: [https://api.example.com]\n", "  insecure_any_audience: true\n", 1), needProxy, nil); err != nil {
		t.Errorf("insecure_any_audience: %v", err)
	}
}
