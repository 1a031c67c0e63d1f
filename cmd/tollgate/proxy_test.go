package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/oauthtest"
)

const (
	wantChallenge401   = `Bearer realm="orders", error="invalid_token", error_description="the access token is invalid", resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"`
	wantChallengeNoTok = `Bearer realm="orders", resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"`
	wantChallenge403   = `Bearer realm="orders", error="insufficient_scope", scope="orders:write", resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"`
)

// TestProxyDecisions runs the proxy between oauthtest and a real upstream:
// every refusal has a passing twin that differs only by the defect.
func TestProxyDecisions(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	s := startServer(t, "proxy", proxyYAML(as.Issuer(), up.URL, ""))

	read := as.JWT(oauthtest.TokenOptions{Subject: "alice", ClientID: "app-1", Scopes: []string{"orders:read"}})
	write := as.JWT(oauthtest.TokenOptions{Subject: "bob", Scopes: []string{"orders:write"}})
	admin := as.JWT(oauthtest.TokenOptions{Subject: "carol", Scopes: []string{"admin"}})
	expired := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}, Lifetime: -time.Hour})
	otherAud := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}, Audience: []string{"https://other.example"}})
	foreign := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}, Key: oauthtest.NewKey("RS256")})

	for _, tc := range []struct {
		name      string
		method    string
		target    string
		header    http.Header
		status    int
		challenge string // exact WWW-Authenticate; "" for none
		upstream  bool   // the request reached the upstream
	}{
		{"valid token with scope", "GET", "/orders", bearer(read), 200, "", true},
		{"wildcard rule", "GET", "/orders/42", bearer(read), 200, "", true},
		{"HEAD matches GET", "HEAD", "/orders", bearer(read), 200, "", true},
		{"no token", "GET", "/orders", nil, 401, wantChallengeNoTok, false},
		{"basic credentials are no token", "GET", "/orders", http.Header{"Authorization": {"Basic YTpi"}}, 401, wantChallengeNoTok, false},
		{"expired", "GET", "/orders", bearer(expired), 401,
			`Bearer realm="orders", error="invalid_token", error_description="the access token expired", resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"`, false},
		{"other audience", "GET", "/orders", bearer(otherAud), 401, wantChallenge401, false},
		{"foreign key", "GET", "/orders", bearer(foreign), 401, wantChallenge401, false},
		{"malformed token", "GET", "/orders", http.Header{"Authorization": {"Bearer a b"}}, 400,
			`Bearer realm="orders", error="invalid_request", error_description="malformed bearer token"`, false},
		{"missing scope", "POST", "/orders", bearer(read), 403, wantChallenge403, false},
		{"missing scope twin", "POST", "/orders", bearer(write), 200, "", true},
		{"any_scope missing", "DELETE", "/orders/1", bearer(read), 403,
			`Bearer realm="orders", error="insufficient_scope", scope="orders:admin admin", resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"`, false},
		{"any_scope twin", "DELETE", "/orders/1", bearer(admin), 200, "", true},
		{"no rule for the path", "GET", "/invoices", bearer(read), 403, "", false},
		{"no rule for the method", "PUT", "/orders", bearer(read), 403, "", false},
		{"anonymous rule without token", "GET", "/public/logo.png", nil, 200, "", true},
		{"anonymous rule with a bad token", "GET", "/public/logo.png", bearer(expired), 401,
			`Bearer realm="orders", error="invalid_token", error_description="the access token expired", resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"`, false},
		{"deny rule inside an anonymous one", "GET", "/public/secret/x", bearer(read), 403, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := s.do(t, tc.method, tc.target, tc.header)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate:\n got %q\nwant %q", got, tc.challenge)
			}
			up.mu.Lock()
			reached := up.last != nil
			up.last = nil
			up.mu.Unlock()
			if reached != tc.upstream {
				t.Errorf("reached upstream: %v, want %v", reached, tc.upstream)
			}
		})
	}
	assertNoToken(t, s.logs.String(), read)
	assertNoToken(t, s.logs.String(), expired)
}

// TestProxyIdentityHeaders checks the headers the upstream receives: set from
// the token, and never from the client, however the client spells them.
func TestProxyIdentityHeaders(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	s := startServer(t, "proxy", proxyYAML(as.Issuer(), up.URL, `
identity_headers:
  strip: [X-User]
`))
	token := as.JWT(oauthtest.TokenOptions{Subject: "alice", ClientID: "app-1", Scopes: []string{"orders:read", "profile"}})
	noClient := as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}, Claims: map[string]any{"client_id": nil}})

	t.Run("set from the token", func(t *testing.T) {
		s.do(t, "GET", "/orders", bearer(token))
		got := up.received(t)
		for name, want := range map[string]string{
			"X-Auth-Subject":   "alice",
			"X-Auth-Client-Id": "app-1",
			"X-Auth-Scopes":    "orders:read profile",
			"X-Auth-Issuer":    as.Issuer(),
		} {
			if v := got.Header.Values(name); len(v) != 1 || v[0] != want {
				t.Errorf("%s = %q, want %q", name, v, want)
			}
		}
		if got.Header.Get("Authorization") != "" {
			t.Error("the token was passed upstream although pass_token is false")
		}
		if got.Header.Get("X-Forwarded-For") == "" || got.Header.Get("X-Forwarded-Host") == "" {
			t.Errorf("X-Forwarded-* not set: %v", got.Header)
		}
	})

	forged := func(names ...string) http.Header {
		h := bearer(token)
		for _, n := range names {
			h[n] = []string{"mallory"}
		}
		return h
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		token  string
	}{
		{"same name", forged("X-Auth-Subject"), token},
		{"lower case", forged("x-auth-subject"), token},
		{"underscores", forged("X_Auth_Subject", "x_auth_client_id"), token},
		{"mixed", forged("X-Auth_Scopes", "X_AUTH-ISSUER"), token},
		{"extra strip name", forged("X-User", "x_user"), token},
		{"hop-by-hop trick", func() http.Header {
			h := forged("X-Auth-Subject")
			h["Connection"] = []string{"X-Auth-Subject, X-Auth-Client-Id"}
			return h
		}(), token},
		{"claim absent from the token", forged("X-Auth-Client-Id", "X_Auth_Client_Id"), noClient},
	} {
		t.Run("forged "+tc.name, func(t *testing.T) {
			tc.header["Authorization"] = []string{"Bearer " + tc.token}
			res, _ := s.rawGet(t, "/orders", tc.header)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			got := up.received(t)
			for name, vs := range got.Header {
				for _, v := range vs {
					if v == "mallory" {
						t.Errorf("forged header %s reached the upstream", name)
					}
				}
			}
			if v := got.Header.Values("X-Auth-Subject"); len(v) != 1 || v[0] != "alice" {
				t.Errorf("X-Auth-Subject = %q, want [alice]", v)
			}
		})
	}

	t.Run("forged twin: other headers pass", func(t *testing.T) {
		h := bearer(token)
		h["X-Auth-Subjects"] = []string{"kept"}
		h["X-Request-Id"] = []string{"r-1"}
		s.rawGet(t, "/orders", h)
		got := up.received(t)
		if got.Header.Get("X-Auth-Subjects") != "kept" || got.Header.Get("X-Request-Id") != "r-1" {
			t.Errorf("ordinary headers were not passed on: %v", got.Header)
		}
	})

	t.Run("anonymous requests are stripped too", func(t *testing.T) {
		res, _ := s.rawGet(t, "/public/x", http.Header{"X_Auth_Subject": {"mallory"}, "X-Auth-Scopes": {"admin"}})
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
		got := up.received(t)
		for _, n := range []string{"X-Auth-Subject", "X_Auth_Subject", "X-Auth-Scopes"} {
			if v := got.Header.Values(n); len(v) > 0 {
				t.Errorf("%s = %q reached the upstream of an anonymous request", n, v)
			}
		}
	})
}

// TestProxyRenamedIdentityHeaders: with identity_headers.subject renamed,
// the upstream receives the subject under the new name, never a client's
// copy of it in any spelling, and the default name is no longer an identity
// header: tollgate neither sets nor strips it (list it under strip if the
// upstream still reads it).
func TestProxyRenamedIdentityHeaders(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	s := startServer(t, "proxy", proxyYAML(as.Issuer(), up.URL, `
identity_headers:
  subject: X-User-Id
`))
	token := as.JWT(oauthtest.TokenOptions{Subject: "alice", ClientID: "app-1", Scopes: []string{"orders:read"}})

	for _, tc := range []struct {
		name   string
		forged map[string]string
	}{
		{"twin: nothing forged", nil},
		{"forged exact name", map[string]string{"X-User-Id": "mallory"}},
		{"forged underscores", map[string]string{"x_user_id": "mallory"}},
		{"forged both", map[string]string{"X-User-Id": "mallory", "x_user_id": "mallory", "X_USER-ID": "mallory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := bearer(token)
			for k, v := range tc.forged {
				h[k] = []string{v}
			}
			res, _ := s.rawGet(t, "/orders", h)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			got := up.received(t)
			if v := got.Header.Values("X-User-Id"); len(v) != 1 || v[0] != "alice" {
				t.Errorf("X-User-Id = %q, want [alice]", v)
			}
			if v := got.Header.Values("X-Auth-Client-Id"); len(v) != 1 || v[0] != "app-1" {
				t.Errorf("X-Auth-Client-Id (not renamed) = %q, want [app-1]", v)
			}
			if v, ok := got.Header["X-Auth-Subject"]; ok {
				t.Errorf("X-Auth-Subject = %q was set although the subject header is X-User-Id", v)
			}
			for name, vs := range got.Header {
				if slices.Contains(vs, "mallory") {
					t.Errorf("forged header %s reached the upstream", name)
				}
			}
		})
	}

	t.Run("anonymous request, forged", func(t *testing.T) {
		res, _ := s.rawGet(t, "/public/x", http.Header{"X-User-Id": {"mallory"}, "x_user_id": {"mallory"}})
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
		got := up.received(t)
		for name := range got.Header {
			if sameHeader(name, "x-user-id") {
				t.Errorf("%s = %q reached the upstream of an anonymous request", name, got.Header[name])
			}
		}
	})

	t.Run("the default name is an ordinary header", func(t *testing.T) {
		h := bearer(token)
		h["X-Auth-Subject"] = []string{"as sent"}
		if res, _ := s.rawGet(t, "/orders", h); res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
		got := up.received(t)
		if v := got.Header.Values("X-Auth-Subject"); len(v) != 1 || v[0] != "as sent" {
			t.Errorf("X-Auth-Subject = %q, want the client's [as sent]", v)
		}
		if v := got.Header.Values("X-User-Id"); len(v) != 1 || v[0] != "alice" {
			t.Errorf("X-User-Id = %q, want [alice]", v)
		}
	})
}

// TestProxyOverrideHeaders: the headers with which an upstream would run
// another method or serve another path than the one the rules judged never
// reach it, however spelt; other headers do; override_headers replaces the
// list.
func TestProxyOverrideHeaders(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	write := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:write"}})
	overrides := http.Header{
		"X-Http-Method-Override": {"DELETE"},
		"x_http_method_override": {"DELETE"},
		"X-Http-Method":          {"DELETE"},
		"X-METHOD-OVERRIDE":      {"DELETE"},
		"X-Original-Url":         {"/admin"},
		"X-Rewrite-Url":          {"/admin"},
		"X_Forwarded_Prefix":     {"/admin"},
		"X-Forwarded-Prefix":     {"/admin"},
	}
	send := func(t *testing.T, s *server) *http.Request {
		h := bearer(write)
		for k, v := range overrides {
			h[k] = v
		}
		h["X-Request-Id"] = []string{"r-1"}
		res, _ := s.rawRequest(t, "POST", "/orders", h)
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
		return up.received(t)
	}
	// reached lists the override headers the upstream received, each
	// spelling apart (net/http canonicalizes X_Forwarded_Prefix as
	// X_forwarded_prefix, not as X-Forwarded-Prefix).
	defaults := newHeaderSet(defaultOverrideHeaders)
	reached := func(got *http.Request) []string {
		var names []string
		for name := range got.Header {
			if defaults.has(name) {
				names = append(names, name)
			}
		}
		return names
	}

	t.Run("default list", func(t *testing.T) {
		got := send(t, startServer(t, "proxy", proxyYAML(as.Issuer(), up.URL, "")))
		if names := reached(got); len(names) > 0 {
			t.Errorf("override headers reached the upstream: %q", names)
		}
		if got.Method != "POST" || got.Header.Get("X-Request-Id") != "r-1" {
			t.Errorf("twin: %s with X-Request-Id %q, want POST with r-1", got.Method, got.Header.Get("X-Request-Id"))
		}
	})
	t.Run("list replaced", func(t *testing.T) {
		got := send(t, startServer(t, "proxy", proxyYAML(as.Issuer(), up.URL, "override_headers: [X-Forwarded-Prefix, X-Request-Id]\n")))
		if names := reached(got); len(names) != 6 || got.Header.Get("X-Request-Id") != "" {
			t.Errorf("reached the upstream: %q, X-Request-Id %q; want the 6 others, not X-Request-Id", names, got.Header.Get("X-Request-Id"))
		}
	})
	t.Run("empty list", func(t *testing.T) {
		got := send(t, startServer(t, "proxy", proxyYAML(as.Issuer(), up.URL, "override_headers: []\n")))
		if names := reached(got); len(names) != len(overrides) {
			t.Errorf("reached the upstream: %q, want all %d", names, len(overrides))
		}
	})
}

// TestProxyPassToken checks pass_token: true.
func TestProxyPassToken(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	s := startServer(t, "proxy", strings.Replace(proxyYAML(as.Issuer(), up.URL, ""), "  upstream:", "  pass_token: true\n  upstream:", 1))
	token := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	s.do(t, "GET", "/orders", bearer(token))
	if got := up.received(t).Header.Get("Authorization"); got != "Bearer "+token {
		t.Error("pass_token: true did not pass the token")
	}
}

// TestProxyPaths sends the path tricks that make a proxy and an upstream
// disagree on what was asked: tollgate refuses them or normalizes them, and
// the upstream sees the path tollgate matched.
func TestProxyPaths(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	s := startServer(t, "proxy", proxyYAML(as.Issuer(), up.URL, ""))
	read := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})

	for _, tc := range []struct {
		name, target string
		status       int
		upstreamPath string // what the upstream received, for 200
	}{
		{"plain", "/orders", 200, "/orders"},
		{"double slash", "//orders", 200, "/orders"},
		{"double slash inside", "/orders//42", 200, "/orders/42"},
		{"encoded letter", "/%6Frders", 200, "/orders"},
		{"query kept", "/orders?page=2", 200, "/orders"},
		{"dot segment", "/public/../orders", 400, ""},
		{"dot segment, no traversal", "/orders/./42", 400, ""},
		{"encoded dot segment", "/public/%2e%2e/orders", 400, ""},
		{"encoded dot segment, mixed case", "/public/.%2E/orders", 400, ""},
		{"encoded slash", "/orders%2F42", 400, ""},
		{"encoded slash, lower case", "/public%2forders", 400, ""},
		{"encoded backslash", "/public%5C..%5Corders", 400, ""},
		{"raw backslash", "/public\\..\\orders", 400, ""},
		{"double encoding", "/%2561dmin", 400, ""},
		{"path parameter", "/orders;jsessionid=1", 400, ""},
		{"overlong dot", "/%c0%ae%c0%ae/orders", 400, ""},
		{"NUL", "/orders%00.json", 400, ""},
		// An anonymous subtree does not hide the deny rule inside it from
		// an upstream that ignores letter case.
		{"case variant of a deny rule", "/public/SECRET/x", 403, ""},
		{"case variant of a deny rule, twin", "/public/x", 200, "/public/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := s.rawGet(t, tc.target, bearer(read))
			if res.StatusCode != tc.status {
				t.Fatalf("GET %s: status %d, want %d", tc.target, res.StatusCode, tc.status)
			}
			if tc.status == 200 {
				if got := up.received(t).URL.EscapedPath(); got != tc.upstreamPath {
					t.Errorf("upstream path %q, want %q", got, tc.upstreamPath)
				}
			}
		})
	}
}

// TestProxyPathVariants sends the review's reproduction of a rule bypass
// by letter case or trailing slash (rules "/" any token, "/admin/" [admin],
// "DELETE /orders/{id}" [orders:admin or admin]): the variant is judged by
// the stricter rule, each refusal's twin with the right scope passes, and
// the path reaches the upstream as sent (normalized). paths options opt
// out, one dimension each.
func TestProxyPathVariants(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	read := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	admin := as.JWT(oauthtest.TokenOptions{Scopes: []string{"admin"}})
	reports := as.JWT(oauthtest.TokenOptions{Scopes: []string{"reports:read", "reports:export"}})
	const (
		challengeAdmin = `Bearer realm="orders", error="insufficient_scope", scope="admin", resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"`
		challengeAny   = `Bearer realm="orders", error="insufficient_scope", scope="orders:admin admin", resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"`
	)
	type tcase struct {
		name, method, target, token string
		status                      int
		challenge                   string
	}
	for _, mode := range []struct {
		name, paths string
		cases       []tcase
	}{
		{"lenient (default)", "", []tcase{
			{"upper case", "GET", "/ADMIN/users", read, 403, challengeAdmin},
			{"upper case, twin", "GET", "/ADMIN/users", admin, 200, ""},
			{"mixed case", "GET", "/Admin/Users", read, 403, challengeAdmin},
			{"as written", "GET", "/admin/users", read, 403, challengeAdmin},
			{"trailing slash", "DELETE", "/orders/5/", read, 403, challengeAny},
			{"trailing slash, twin", "DELETE", "/orders/5/", admin, 200, ""},
			{"both", "DELETE", "/ORDERS/5/", read, 403, challengeAny},
			{"catch-all", "GET", "/elsewhere", read, 200, ""},
			{"rules that disagree", "GET", "/reports/1", reports, 403, ""},
			{"rules that disagree, slash", "GET", "/reports/1/", reports, 403, ""},
		}},
		{"case_sensitive", "paths: {case_sensitive: true}\n", []tcase{
			{"upper case goes to the catch-all", "GET", "/ADMIN/users", read, 200, ""},
			{"trailing slash still checked", "DELETE", "/orders/5/", read, 403, challengeAny},
		}},
		{"trailing_slash strict", "paths: {trailing_slash: strict}\n", []tcase{
			{"upper case still checked", "GET", "/ADMIN/users", read, 403, challengeAdmin},
			{"trailing slash goes to the catch-all", "DELETE", "/orders/5/", read, 200, ""},
			{"slash twins are distinct rules", "GET", "/reports/1", reports, 200, ""},
		}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			s := startServer(t, "proxy", withRules(t, proxyYAML(as.Issuer(), up.URL, mode.paths), variantRulesYAML))
			for _, tc := range mode.cases {
				t.Run(tc.name, func(t *testing.T) {
					res, _ := s.rawRequest(t, tc.method, tc.target, bearer(tc.token))
					if res.StatusCode != tc.status {
						t.Fatalf("%s %s: status %d, want %d", tc.method, tc.target, res.StatusCode, tc.status)
					}
					if got := res.Header.Get("WWW-Authenticate"); got != tc.challenge {
						t.Errorf("WWW-Authenticate:\n got %q\nwant %q", got, tc.challenge)
					}
					up.mu.Lock()
					last := up.last
					up.last = nil
					up.mu.Unlock()
					switch {
					case tc.status != 200 && last != nil:
						t.Error("a refused request reached the upstream")
					case tc.status == 200 && (last == nil || last.URL.EscapedPath() != tc.target):
						t.Errorf("the upstream did not receive %s", tc.target)
					}
				})
			}
			if mode.paths == "" && !strings.Contains(s.logs.String(), `rules[5] \"GET /reports/{id}/\"`) {
				t.Error("no warning at start about the rules that disagree")
			}
		})
	}
}

// TestProxyMetadata checks the RFC 9728 document the proxy serves.
func TestProxyMetadata(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	s := startServer(t, "proxy", proxyYAML(as.Issuer(), up.URL, ""))
	res, body := s.do(t, "GET", "/.well-known/oauth-protected-resource", nil)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	want := `{"resource":"http://127.0.0.1:8080","authorization_servers":["` + as.Issuer() +
		`"],"scopes_supported":["orders:read","orders:write","orders:admin","admin"],"bearer_methods_supported":["header"]}`
	if strings.TrimSpace(body) != want {
		t.Errorf("metadata:\n got %s\nwant %s", body, want)
	}
}

// TestProxyUnavailable checks that an authorization server that cannot be
// reached gets 503 with Retry-After and no challenge, /readyz says so, and
// both recover once the keys load.
func TestProxyUnavailable(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	token := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusInternalServerError})
	s := startServer(t, "proxy", proxyYAML(as.Issuer(), up.URL, ""))

	if code, body := s.opsGet(t, "/readyz"); code != 503 || strings.TrimSpace(body) != "keys not loaded" {
		t.Errorf("/readyz while the AS is down: %d %q", code, body)
	}
	if code, _ := s.opsGet(t, "/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	res, _ := s.do(t, "GET", "/orders", bearer(token))
	if res.StatusCode != 503 || res.Header.Get("Retry-After") != "5" || res.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("AS down: %d, Retry-After %q, WWW-Authenticate %q; want 503, 5, none",
			res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("WWW-Authenticate"))
	}

	as.Heal(oauthtest.EndpointJWKS)
	// The key set retries in the background (min_refetch_interval 50ms,
	// doubling): poll with a deadline.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := s.opsGet(t, "/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not turn 200 after the AS recovered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res, _ := s.do(t, "GET", "/orders", bearer(token)); res.StatusCode != 200 {
		t.Errorf("after recovery: %d, want 200", res.StatusCode)
	}
}

// TestProxyUnavailableMetrics checks what /metrics says while the
// authorization server is down: the failed key fetches, the 503s, the
// rejections in the histogram and tollgate_ready 0. The retry intervals are
// an hour, so the only fetches are the one at start and the one the first
// token triggers (the second token falls within min_refetch_interval): the
// counts are exact. TestProxyMetrics is the twin: the same configuration
// with the AS up gives tollgate_ready 1 and no failure.
func TestProxyUnavailableMetrics(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	token := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusInternalServerError})
	yaml := proxyYAML(as.Issuer(), up.URL, "")
	yaml = strings.Replace(yaml, "min_refetch_interval: 50ms", "min_refetch_interval: 1h", 1)
	yaml = strings.Replace(yaml, "min_refresh_interval: 1m", "min_refresh_interval: 1h", 1)
	s := startServer(t, "proxy", yaml)
	// The server serves while its warm-up fetch runs; a request during it
	// would share that fetch. Wait for the warm-up to fail first, so that
	// the count below is exact: the warm-up, then the one refetch the first
	// token forces (the second is rate-limited).
	failures := `tollgate_jwks_refresh_failures_total{url="` + as.JWKSURL() + `"} `
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, text := s.opsGet(t, "/metrics"); strings.Contains(text, failures+"1\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the warm-up fetch did not fail within 5s")
		}
	}

	for range 2 {
		if res, _ := s.do(t, "GET", "/orders", bearer(token)); res.StatusCode != 503 {
			t.Fatalf("AS down: status %d, want 503", res.StatusCode)
		}
	}
	code, text := s.opsGet(t, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		failures + "2",
		`tollgate_requests_total{outcome="unavailable"} 2`,
		`tollgate_requests_total{outcome="allowed"} 0`,
		`tollgate_validation_duration_seconds_count{result="reject"} 2`,
		`tollgate_validation_duration_seconds_bucket{result="reject",le="+Inf"} 2`,
		`tollgate_validation_duration_seconds_count{result="accept"} 0`,
		`tollgate_ready 0`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(text, "tollgate_jwks_refreshes_total{") {
		t.Error("/metrics counts a successful key fetch while the AS is down")
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", regexp.MustCompile(`(?m)^tollgate_.*$`).FindAllString(text, -1))
	}
}

// TestProxyMetrics checks that the counters move with the requests.
func TestProxyMetrics(t *testing.T) {
	as := newAS(t)
	up := newUpstream(t)
	s := startServer(t, "proxy", proxyYAML(as.Issuer(), up.URL, ""))
	token := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	for range 3 {
		s.do(t, "GET", "/orders", bearer(token))
	}
	s.do(t, "GET", "/orders", nil)
	s.do(t, "POST", "/orders", bearer(token))
	s.do(t, "GET", "/nowhere", bearer(token))
	s.rawGet(t, "/a/../orders", bearer(token))
	s.do(t, "GET", "/public/x", nil)

	code, text := s.opsGet(t, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`tollgate_requests_total{outcome="allowed"} 3`,
		`tollgate_requests_total{outcome="no_token"} 1`,
		`tollgate_requests_total{outcome="insufficient_scope"} 1`,
		`tollgate_requests_total{outcome="denied_path"} 1`,
		`tollgate_requests_total{outcome="bad_path"} 1`,
		`tollgate_requests_total{outcome="anonymous"} 1`,
		`tollgate_requests_total{outcome="unavailable"} 0`,
		`tollgate_validation_duration_seconds_count{result="accept"} 3`,
		`tollgate_cache_lookups_total{cache="jwt",result="miss"} 1`,
		`tollgate_cache_lookups_total{cache="jwt",result="hit"} 3`,
		`tollgate_validation_duration_seconds_count{result="reject"} 2`,
		`tollgate_jwks_refreshes_total{url="` + as.JWKSURL() + `"} 1`,
		`tollgate_ready 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(text, "tollgate_jwks_refresh_failures_total{") {
		t.Error("/metrics counts a failed key fetch while the AS is up")
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", regexp.MustCompile(`(?m)^tollgate_.*$`).FindAllString(text, -1))
	}
}

// TestProxyDrainsOnSIGTERM sends the process a real SIGTERM while a slow
// upstream request is in flight: the server stops being ready and accepting,
// the request completes, then run returns.
func TestProxyDrainsOnSIGTERM(t *testing.T) {
	as := newAS(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "slow answer")
	}))
	defer slow.Close()
	s := startServer(t, "proxy", proxyYAML(as.Issuer(), slow.URL, ""))
	token := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})

	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.base()+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := s.client.Do(req)
		if err != nil {
			got <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		got <- result{status: res.StatusCode, body: string(b), err: err}
	}()
	<-entered
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Draining: not ready, no new connections.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := s.opsGet(t, "/readyz")
		if code == 503 && strings.TrimSpace(body) == "shutting down" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz during the drain: %d %q", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts connections during the drain")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-s.done:
		t.Fatalf("run returned before the request in flight completed: %v", s.err)
	default:
	}
	close(release)
	r := <-got
	if r.err != nil || r.status != 200 || r.body != "slow answer" {
		t.Errorf("request in flight: %d %q %v; want 200 \"slow answer\"", r.status, r.body, r.err)
	}
	select {
	case <-s.done:
		if s.err != nil {
			t.Errorf("run: %v", s.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the drain")
	}
	if !strings.Contains(s.logs.String(), `"msg":"tollgate: stopped"`) {
		t.Error("no stop record in the logs")
	}
}

// TestExampleConfigServes runs the repository's example configuration the
// way the README's two-terminal walkthrough does: an authorization server
// whose tokens are for the upstream, and the variables set in the
// environment.
func TestExampleConfigServes(t *testing.T) {
	up := newUpstream(t)
	as := oauthtest.New(oauthtest.Config{Audience: up.URL})
	defer as.Close()
	t.Setenv("TOLLGATE_ISSUER", as.Issuer())
	t.Setenv("TOLLGATE_UPSTREAM", up.URL)
	t.Setenv("TOLLGATE_LISTEN", "127.0.0.1:0")
	t.Setenv("TOLLGATE_OPS_LISTEN", "127.0.0.1:0")
	example, err := os.ReadFile("../../examples/tollgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "proxy", string(example))
	token := as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read", "orders:write"}})
	for _, tc := range []struct {
		method string
		header http.Header
		status int
	}{
		{"GET", bearer(token), 200},
		{"POST", bearer(token), 200},
		{"GET", nil, 401},
		{"DELETE", bearer(token), 403},
	} {
		if res, _ := s.do(t, tc.method, "/orders", tc.header); res.StatusCode != tc.status {
			t.Errorf("%s /orders: %d, want %d", tc.method, res.StatusCode, tc.status)
		}
	}
	if got := up.received(t).Header.Get("Authorization"); got != "Bearer "+token {
		t.Error("pass_token: true in the example, but the upstream did not get the token")
	}
}
