package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/oauthtest"
)

func forwardAuthYAML(issuer, mode, extra string) string {
	return proxyYAML(issuer, "http://127.0.0.1:1", `
forward_auth:
  listen: 127.0.0.1:0
  mode: `+mode+`
`+extra)
}

// shape builds the check request a proxy sends for an original request.
type shape func(method, target string, h http.Header) (checkMethod, checkTarget string, checkHeader http.Header)

// nginxShape is what nginx sends with the README's snippet: auth_request
// /_tollgate, proxy_pass http://tollgate/auth, the client's headers, and
// X-Original-URI / X-Original-Method set from $request_uri and
// $request_method. The subrequest keeps the original method, without body.
func nginxShape(method, target string, h http.Header) (string, string, http.Header) {
	c := h.Clone()
	if c == nil {
		c = http.Header{}
	}
	c.Set("X-Original-URI", target)
	c.Set("X-Original-Method", method)
	c.Set("Content-Length", "0")
	return method, "/auth", c
}

// traefikShape is what Traefik's ForwardAuth sends: a GET to the configured
// address with the client's headers and X-Forwarded-Method, -Proto, -Host,
// -Uri and -For.
func traefikShape(method, target string, h http.Header) (string, string, http.Header) {
	c := h.Clone()
	if c == nil {
		c = http.Header{}
	}
	c.Set("X-Forwarded-Method", method)
	c.Set("X-Forwarded-Proto", "https")
	c.Set("X-Forwarded-Host", "api.example.test")
	c.Set("X-Forwarded-Uri", target)
	c.Set("X-Forwarded-For", "203.0.113.7")
	return http.MethodGet, "/", c
}

// envoyShape is what Envoy's ext_authz http_service sends: the original
// method and path, prefixed with path_prefix (here /authz), and the allowed
// headers.
func envoyShape(method, target string, h http.Header) (string, string, http.Header) {
	c := h.Clone()
	if c == nil {
		c = http.Header{}
	}
	c.Set("Content-Length", "0")
	return method, "/authz" + target, c
}

// TestForwardAuth runs forward-auth against the request shapes of nginx,
// Traefik and Envoy.
func TestForwardAuth(t *testing.T) {
	as := newAS(t)
	read := as.JWT(oauthtest.TokenOptions{Subject: "alice", ClientID: "app-1", Scopes: []string{"orders:read"}})
	noClient := as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}, Claims: map[string]any{"client_id": nil}})
	expired := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}, Lifetime: -time.Hour})
	write := as.JWT(oauthtest.TokenOptions{Subject: "bob", Scopes: []string{"orders:write"}})

	for _, mode := range []struct {
		name  string
		shape shape
		extra string
	}{
		{modeNginx, nginxShape, ""},
		{modeTraefik, traefikShape, ""},
		{modeEnvoy, envoyShape, "  path_prefix: /authz\n"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			s := startServer(t, "forward-auth", forwardAuthYAML(as.Issuer(), mode.name, mode.extra))
			for _, tc := range []struct {
				name      string
				method    string
				target    string
				header    http.Header
				status    int
				challenge string
				identity  map[string]string // headers of a 200
			}{
				{"allow", "GET", "/orders?page=2", bearer(read), 200, "", map[string]string{
					"X-Auth-Subject": "alice", "X-Auth-Client-Id": "app-1", "X-Auth-Scopes": "orders:read", "X-Auth-Issuer": as.Issuer(),
				}},
				{"allow, empty headers overwrite forged ones", "GET", "/orders/7", bearer(noClient), 200, "", map[string]string{
					"X-Auth-Subject": "alice", "X-Auth-Client-Id": "",
				}},
				{"anonymous", "GET", "/public/x", nil, 200, "", map[string]string{"X-Auth-Subject": "", "X-Auth-Scopes": ""}},
				{"metadata path is public", "GET", "/.well-known/oauth-protected-resource", nil, 200, "", nil},
				{"metadata path is public to HEAD", "HEAD", "/.well-known/oauth-protected-resource", nil, 200, "", nil},
				{"metadata path, other methods go through the rules", "POST", "/.well-known/oauth-protected-resource", nil, 403, "", nil},
				{"metadata path, DELETE", "DELETE", "/.well-known/oauth-protected-resource", bearer(read), 403, "", nil},
				{"no token", "GET", "/orders", nil, 401, wantChallengeNoTok, nil},
				{"expired", "GET", "/orders", bearer(expired), 401,
					`Bearer realm="orders", error="invalid_token", error_description="the access token expired", resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"`, nil},
				{"missing scope", "POST", "/orders", bearer(read), 403, wantChallenge403, nil},
				{"no rule", "GET", "/invoices", bearer(read), 403, "", nil},
				{"dot segments", "GET", "/public/../orders", bearer(read), 403, "", nil},
				{"encoded slash", "GET", "/public%2F..%2Forders", bearer(read), 403, "", nil},
				{"double slash twin", "GET", "//orders", bearer(read), 200, "", map[string]string{"X-Auth-Subject": "alice"}},
				{"case variant of a deny path", "GET", "/public/SECRET/x", nil, 403, "", nil},
				{"forged underscore variant", "GET", "/orders", func() http.Header {
					h := bearer(read)
					h["X_Auth_Subject"] = []string{"mallory"}
					return h
				}(), 403, "", nil},
				{"method override header", "POST", "/orders", func() http.Header {
					h := bearer(write)
					h["X-Http-Method-Override"] = []string{"DELETE"}
					return h
				}(), 403, "", nil},
				{"method override twin", "POST", "/orders", bearer(write), 200, "", map[string]string{"X-Auth-Subject": "bob"}},
				{"path override header, underscores", "GET", "/orders", func() http.Header {
					h := bearer(read)
					h["X_Original_URL"] = []string{"/admin"}
					return h
				}(), 403, "", nil},
				{"anonymous request with an override header", "GET", "/public/x", http.Header{"X-Forwarded-Prefix": {"/admin"}}, 403, "", nil},
				{"forged exact name is overwritten", "GET", "/orders", func() http.Header {
					h := bearer(read)
					h["X-Auth-Subject"] = []string{"mallory"}
					h["X-Auth-Client-Id"] = []string{"mallory"}
					return h
				}(), 200, "", map[string]string{"X-Auth-Subject": "alice", "X-Auth-Client-Id": "app-1"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					m, target, h := mode.shape(tc.method, tc.target, tc.header)
					var res *http.Response
					if mode.name == modeEnvoy {
						res, _ = s.rawRequest(t, m, target, h)
					} else {
						res, _ = s.do(t, m, target, h)
					}
					if res.StatusCode != tc.status {
						t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
					}
					if got := res.Header.Get("WWW-Authenticate"); got != tc.challenge {
						t.Errorf("WWW-Authenticate:\n got %q\nwant %q", got, tc.challenge)
					}
					for name, want := range tc.identity {
						if v, ok := res.Header[name]; !ok || len(v) != 1 || v[0] != want {
							t.Errorf("%s = %q (present %v), want [%q]", name, v, ok, want)
						}
					}
					if tc.status != 200 {
						for _, name := range []string{"X-Auth-Subject", "X-Auth-Scopes"} {
							if v, ok := res.Header[name]; ok {
								t.Errorf("a refusal carries %s = %q", name, v)
							}
						}
					}
				})
			}

			t.Run("check request without the original request", func(t *testing.T) {
				if mode.name == modeEnvoy {
					// Outside path_prefix: not a check request.
					for _, target := range []string{"/orders", "/authzorders"} {
						res, _ := s.do(t, "GET", target, bearer(read))
						if res.StatusCode != 500 {
							t.Errorf("%s: status %d, want 500", target, res.StatusCode)
						}
					}
					return
				}
				res, _ := s.do(t, "GET", "/auth", bearer(read))
				if res.StatusCode != 500 {
					t.Errorf("status %d, want 500 (the proxy is misconfigured)", res.StatusCode)
				}
			})
			t.Run("metadata document served directly", func(t *testing.T) {
				res, body := s.do(t, "GET", "/.well-known/oauth-protected-resource", nil)
				if res.StatusCode != 200 || !strings.Contains(body, `"resource":"http://127.0.0.1:8080"`) {
					t.Errorf("status %d, body %s", res.StatusCode, body)
				}
			})
			assertNoToken(t, s.logs.String(), read)
		})
	}
}

// TestForwardAuthPathVariants: forward-auth judges letter-case and
// trailing-slash variants as the proxy does (nginx forwards the raw
// $request_uri, so the variant arrives as the client wrote it).
func TestForwardAuthPathVariants(t *testing.T) {
	as := newAS(t)
	read := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	admin := as.JWT(oauthtest.TokenOptions{Scopes: []string{"admin"}})
	reports := as.JWT(oauthtest.TokenOptions{Scopes: []string{"reports:read", "reports:export"}})
	for _, mode := range []struct {
		name, paths string
		cases       []struct {
			method, target, token string
			status                int
		}
	}{
		{"lenient", "", []struct {
			method, target, token string
			status                int
		}{
			{"GET", "/ADMIN/users", read, 403},
			{"GET", "/ADMIN/users", admin, 200},
			{"GET", "/%41dmin/users", read, 403}, // %41 is A
			{"DELETE", "/orders/5/", read, 403},
			{"DELETE", "/orders/5/?x=1", admin, 200},
			{"GET", "/reports/1", reports, 403},
			{"GET", "/elsewhere", read, 200},
			// The metadata path: GET needs no token, POST needs what the
			// catch-all needs.
			{"GET", "/.well-known/oauth-protected-resource", "", 200},
			{"POST", "/.well-known/oauth-protected-resource", "", 401},
			{"POST", "/.well-known/oauth-protected-resource", read, 200},
		}},
		{"case_sensitive and strict", "paths:\n  case_sensitive: true\n  trailing_slash: strict\n", []struct {
			method, target, token string
			status                int
		}{
			{"GET", "/ADMIN/users", read, 200},
			{"DELETE", "/orders/5/", read, 200},
			{"GET", "/reports/1", reports, 200},
			{"GET", "/admin/users", read, 403},
		}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			s := startServer(t, "forward-auth", withRules(t, forwardAuthYAML(as.Issuer(), modeNginx, mode.paths), variantRulesYAML))
			for _, tc := range mode.cases {
				var auth http.Header
				if tc.token != "" {
					auth = bearer(tc.token)
				}
				m, target, h := nginxShape(tc.method, tc.target, auth)
				if res, _ := s.do(t, m, target, h); res.StatusCode != tc.status {
					t.Errorf("%s %s: status %d, want %d", tc.method, tc.target, res.StatusCode, tc.status)
				}
			}
		})
	}
}

// TestForwardAuthUnavailable checks the 503 a proxy passes on (Traefik,
// Envoy) or maps with auth_request_set (nginx).
func TestForwardAuthUnavailable(t *testing.T) {
	as := newAS(t)
	token := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	as.Close() // down before tollgate starts: the keys never load
	s := startServer(t, "forward-auth", forwardAuthYAML(as.Issuer(), modeTraefik, ""))
	m, target, h := traefikShape("GET", "/orders", bearer(token))
	res, _ := s.do(t, m, target, h)
	if res.StatusCode != 503 || res.Header.Get("Retry-After") != "5" || res.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("%d, Retry-After %q, WWW-Authenticate %q; want 503, 5, none",
			res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("WWW-Authenticate"))
	}
	// Twin: a request that needs no token is still decided.
	m, target, h = traefikShape("GET", "/public/x", nil)
	if res, _ := s.do(t, m, target, h); res.StatusCode != 200 {
		t.Errorf("anonymous request while the AS is down: %d, want 200", res.StatusCode)
	}
}

// TestForwardAuthRenamedIdentityHeaders: with identity_headers.subject
// renamed, the answer carries the subject under the new name (and not under
// the default one), a client's exact copy is overwritten by it, and a copy
// spelt with underscores is refused as the default names are.
func TestForwardAuthRenamedIdentityHeaders(t *testing.T) {
	as := newAS(t)
	token := as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}})
	s := startServer(t, "forward-auth", forwardAuthYAML(as.Issuer(), modeNginx, `
identity_headers:
  subject: X-User-Id
`))
	for _, tc := range []struct {
		name   string
		forged string // header name sent with "mallory"
		status int
	}{
		{"twin: nothing forged", "", 200},
		{"exact name", "X-User-Id", 200},
		{"underscores", "x_user_id", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := bearer(token)
			if tc.forged != "" {
				h[tc.forged] = []string{"mallory"}
			}
			m, target, ch := nginxShape("GET", "/orders", h)
			res, _ := s.do(t, m, target, ch)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.status != 200 {
				if v, ok := res.Header["X-User-Id"]; ok {
					t.Errorf("a refusal carries X-User-Id = %q", v)
				}
				return
			}
			if v := res.Header.Values("X-User-Id"); len(v) != 1 || v[0] != "alice" {
				t.Errorf("X-User-Id = %q, want [alice]", v)
			}
			if v, ok := res.Header["X-Auth-Subject"]; ok {
				t.Errorf("X-Auth-Subject = %q was set although the subject header is X-User-Id", v)
			}
		})
	}
}

// TestForwardAuthMalformedToken: a malformed bearer credential is
// invalid_request. Traefik and Envoy pass any status on, so they get the 400
// of RFC 6750; nginx's auth_request would turn a 400 into 500 (an outage, to
// the client), so in nginx mode it is a 401 that carries the same error code
// and resource_metadata. Each refusal has a twin with a well-formed token.
func TestForwardAuthMalformedToken(t *testing.T) {
	as := newAS(t)
	token := as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}})
	const (
		md        = `, resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"`
		malformed = `Bearer realm="orders", error="invalid_request", error_description="malformed bearer token"`
		empty     = `Bearer realm="orders", error="invalid_request", error_description="empty bearer token"`
		twoHeader = `Bearer realm="orders", error="invalid_request", error_description="more than one Authorization header"`
	)
	for _, mode := range []struct {
		name   string
		shape  shape
		extra  string
		status int    // of a malformed credential
		md     string // appended to its challenge
	}{
		{modeNginx, nginxShape, "", 401, md},
		{modeTraefik, traefikShape, "", 400, ""},
		{modeEnvoy, envoyShape, "  path_prefix: /authz\n", 400, ""},
	} {
		t.Run(mode.name, func(t *testing.T) {
			s := startServer(t, "forward-auth", forwardAuthYAML(as.Issuer(), mode.name, mode.extra))
			for _, tc := range []struct {
				name      string
				auth      []string // Authorization header values
				status    int
				challenge string
			}{
				{"space inside the token", []string{"Bearer a b"}, mode.status, malformed + mode.md},
				{"space inside the token, twin", []string{"Bearer " + token}, 200, ""},
				{"empty token", []string{"Bearer "}, mode.status, empty + mode.md},
				{"two Authorization headers", []string{"Bearer " + token, "Bearer " + token}, mode.status, twoHeader + mode.md},
				{"two Authorization headers, twin", []string{"Bearer " + token}, 200, ""},
				// The rewrite is for invalid_request only: other refusals
				// keep their status.
				{"invalid token keeps 401", []string{"Bearer " + token + "x"}, 401, wantChallenge401},
				{"no token keeps 401", nil, 401, wantChallengeNoTok},
			} {
				t.Run(tc.name, func(t *testing.T) {
					h := http.Header{}
					if tc.auth != nil {
						h["Authorization"] = tc.auth
					}
					m, target, ch := mode.shape("GET", "/orders", h)
					var res *http.Response
					if mode.name == modeEnvoy {
						res, _ = s.rawRequest(t, m, target, ch)
					} else {
						res, _ = s.do(t, m, target, ch)
					}
					if res.StatusCode != tc.status {
						t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
					}
					if got := res.Header.Get("WWW-Authenticate"); got != tc.challenge {
						t.Errorf("WWW-Authenticate:\n got %q\nwant %q", got, tc.challenge)
					}
					if tc.status == 200 {
						if v := res.Header.Values("X-Auth-Subject"); len(v) != 1 || v[0] != "alice" {
							t.Errorf("X-Auth-Subject = %q, want [alice]", v)
						}
					}
				})
			}
			// Metrics and logs say what happened, whatever the status.
			_, text := s.opsGet(t, "/metrics")
			if want := `tollgate_requests_total{outcome="invalid_request"} 3`; !strings.Contains(text, want+"\n") {
				t.Errorf("/metrics lacks %s", want)
			}
			assertNoToken(t, s.logs.String(), token)
		})
	}
}
