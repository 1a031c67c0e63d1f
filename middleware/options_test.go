package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/middleware"
)

func newMW(t *testing.T, cfg middleware.Config) *middleware.Middleware {
	t.Helper()
	mw, err := middleware.New(testValidator(nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestNewRejectsUnsafeConfig(t *testing.T) {
	v := testValidator(nil)
	tests := []struct {
		name   string
		v      tollgate.Validator
		cfg    middleware.Config
		reject bool
	}{
		{name: "zero config", v: v},
		{name: "nil validator", cfg: middleware.Config{}, reject: true},
		{name: "realm", v: v, cfg: middleware.Config{Realm: "orders API v2"}},
		{name: "realm with quote", v: v, cfg: middleware.Config{Realm: `a"b`}, reject: true},
		{name: "realm with backslash", v: v, cfg: middleware.Config{Realm: `a\b`}, reject: true},
		{name: "realm with newline", v: v, cfg: middleware.Config{Realm: "a\r\nX-Evil: 1"}, reject: true},
		{name: "realm with DEL", v: v, cfg: middleware.Config{Realm: "a\x7f"}, reject: true},
		{name: "realm not ASCII", v: v, cfg: middleware.Config{Realm: "caf\u00e9"}, reject: true},
		{name: "metadata URL", v: v, cfg: middleware.Config{ResourceMetadataURL: metaURL}},
		{name: "metadata URL on loopback over http", v: v, cfg: middleware.Config{ResourceMetadataURL: "http://127.0.0.1:8080/.well-known/oauth-protected-resource"}},
		{name: "metadata URL on localhost over http", v: v, cfg: middleware.Config{ResourceMetadataURL: "http://api.localhost/.well-known/oauth-protected-resource"}},
		{name: "metadata URL over http", v: v, cfg: middleware.Config{ResourceMetadataURL: "http://api.example.com/.well-known/oauth-protected-resource"}, reject: true},
		{name: "metadata URL relative", v: v, cfg: middleware.Config{ResourceMetadataURL: "/.well-known/oauth-protected-resource"}, reject: true},
		{name: "metadata URL with fragment", v: v, cfg: middleware.Config{ResourceMetadataURL: metaURL + "#x"}, reject: true},
		{name: "metadata URL with quote", v: v, cfg: middleware.Config{ResourceMetadataURL: metaURL + `"x`}, reject: true},
		{name: "metadata URL with space", v: v, cfg: middleware.Config{ResourceMetadataURL: metaURL + " x"}, reject: true},
		{name: "metadata URL with user", v: v, cfg: middleware.Config{ResourceMetadataURL: "https://u:p@api.example.com/x"}, reject: true},
		{name: "max form bytes", v: v, cfg: middleware.Config{MaxFormBytes: 10}},
		{name: "negative max form bytes", v: v, cfg: middleware.Config{MaxFormBytes: -1}, reject: true},
		{name: "retry after", v: v, cfg: middleware.Config{RetryAfter: time.Minute}},
		{name: "negative retry after", v: v, cfg: middleware.Config{RetryAfter: -1}, reject: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw, err := middleware.New(tt.v, tt.cfg)
			if tt.reject != (err != nil) {
				t.Fatalf("New: err = %v, want rejection %v", err, tt.reject)
			}
			if !tt.reject && mw == nil {
				t.Fatal("New returned neither a middleware nor an error")
			}
		})
	}
}

func TestOptional(t *testing.T) {
	mw := newMW(t, middleware.Config{Optional: true, AllowFormToken: true, Realm: "api"})
	h := mw.Handler(echo)
	tests := []struct {
		name   string
		req    reqShape
		status int
		body   string
	}{
		{name: "no credentials pass as anonymous", req: reqShape{},
			status: 200, body: `ok anonymous query="" uri="/orders" body="" form=""`},
		{name: "basic passes as anonymous", req: reqShape{auth: []string{"Basic dXNlcjpwYXNz"}},
			status: 200, body: `ok anonymous query="" uri="/orders" body="" form=""`},
		{name: "query token not enabled is no credential", req: reqShape{target: "/orders?access_token=x"},
			status: 200, body: `ok anonymous query="access_token=x" uri="/orders?access_token=x" body="" form="access_token=x"`},
		{name: "anonymous form post keeps its body", req: reqShape{method: "POST", contentType: formType, body: "a=1&b=2"},
			status: 200, body: `ok anonymous query="" uri="/orders" body="a=1&b=2" form="a=1&b=2"`},
		{name: "valid token", req: reqShape{auth: []string{"Bearer " + goodTok}},
			status: 200, body: `ok alice query="" uri="/orders" body="" form=""`},
		{name: "invalid token is still rejected", req: reqShape{auth: []string{"Bearer forged"}},
			status: 401, body: "Unauthorized: the access token is invalid\n"},
		{name: "malformed token is still rejected", req: reqShape{auth: []string{"Bearer a b"}},
			status: 400, body: "Bad Request: malformed bearer token\n"},
		{name: "unavailable is still rejected", req: reqShape{auth: []string{"Bearer unavailable"}},
			status: 503, body: "Service Unavailable\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, tt.req.build())
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.status, tt.body)
			}
		})
	}
}

func TestAnonymousGetsChallengeFromScopeChecks(t *testing.T) {
	mw := newMW(t, middleware.Config{Optional: true, Realm: "api", ResourceMetadataURL: metaURL})
	h := mw.Handler(middleware.RequireScopes("orders:read")(echo))
	rec := serve(h, reqShape{}.build())
	if want := `Bearer realm="api", resource_metadata="` + metaURL + `"`; rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != want {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	rec = serve(h, reqShape{auth: []string{"Bearer " + goodTok}}.build())
	if rec.Code != 200 {
		t.Fatalf("with a token holding the scope: %d", rec.Code)
	}
}

func TestRequireScopes(t *testing.T) {
	mw := newMW(t, middleware.Config{Realm: "api", ResourceMetadataURL: metaURL})
	forbidden := func(scope string) string {
		return `Bearer realm="api", error="insufficient_scope", scope="` + scope + `", resource_metadata="` + metaURL + `"`
	}
	tests := []struct {
		name      string
		guard     func(http.Handler) http.Handler
		status    int
		challenge string
	}{
		{name: "all held", guard: middleware.RequireScopes("orders:read", "profile"), status: 200},
		{name: "one missing", guard: middleware.RequireScopes("orders:read", "orders:write"), status: 403, challenge: forbidden("orders:read orders:write")},
		{name: "any held", guard: middleware.RequireAnyScope("orders:write", "orders:read"), status: 200},
		{name: "none of any", guard: middleware.RequireAnyScope("orders:write", "admin"), status: 403, challenge: forbidden("orders:write admin")},
		{name: "duplicates dropped", guard: middleware.RequireScopes("admin", "admin"), status: 403, challenge: forbidden("admin")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(mw.Handler(tt.guard(echo)), reqShape{auth: []string{"Bearer " + goodTok}}.build())
			if rec.Code != tt.status || rec.Header().Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"), tt.status, tt.challenge)
			}
		})
	}
}

func TestRequireScopesPanicsOnBadNames(t *testing.T) {
	for _, scopes := range [][]string{nil, {}, {""}, {"a b"}, {`a"b`}, {`a\b`}, {"a\nb"}, {"caf\u00e9"}} {
		t.Run(fmt.Sprintf("%q", scopes), func(t *testing.T) {
			for _, fn := range []func(...string) func(http.Handler) http.Handler{middleware.RequireScopes, middleware.RequireAnyScope} {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("no panic for %q", scopes)
						}
					}()
					fn(scopes...)
				}()
			}
		})
	}
	// The twin: every printable character a scope-token allows.
	var all []byte
	for c := byte(0x21); c <= 0x7e; c++ {
		if c != '"' && c != '\\' {
			all = append(all, c)
		}
	}
	middleware.RequireScopes(string(all))
	middleware.RequireAnyScope(string(all))
}

func TestWriteErrorFromHandler(t *testing.T) {
	write := func(scopes ...string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := tollgate.RequireScope(r.Context(), scopes...); err != nil {
				middleware.WriteError(w, r, err)
				return
			}
			fmt.Fprint(w, "done")
		})
	}
	var rejected []*tollgate.Error
	mw := newMW(t, middleware.Config{Realm: "api", ResourceMetadataURL: metaURL, Observer: tollgate.Observer{
		OnReject: func(_ context.Context, e tollgate.RejectEvent) { rejected = append(rejected, e.Err) },
	}})
	tests := []struct {
		name      string
		h         http.Handler
		status    int
		challenge string
		body      string
	}{
		{name: "scope held", h: mw.Handler(write("orders:read")), status: 200, body: "done"},
		{name: "scope missing", h: mw.Handler(write("orders:write")), status: 403,
			challenge: `Bearer realm="api", error="insufficient_scope", scope="orders:write", resource_metadata="` + metaURL + `"`, body: "Forbidden\n"},
		{name: "unsafe scope name is left out", h: mw.Handler(write(`orders"write`)), status: 403,
			challenge: `Bearer realm="api", error="insufficient_scope", resource_metadata="` + metaURL + `"`, body: "Forbidden\n"},
		{name: "outside a middleware", h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r = r.WithContext(tollgate.NewContext(r.Context(), alice))
			write("orders:write").ServeHTTP(w, r)
		}), status: 403, challenge: `Bearer error="insufficient_scope", scope="orders:write"`, body: "Forbidden\n"},
		{name: "outside a middleware, without principal", h: write("orders:read"), status: 401, challenge: `Bearer`, body: "Unauthorized\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(tt.h, reqShape{auth: []string{"Bearer " + goodTok}}.build())
			if rec.Code != tt.status || rec.Header().Get("WWW-Authenticate") != tt.challenge || rec.Body.String() != tt.body {
				t.Fatalf("got %d %q %q\nwant %d %q %q", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body.String(),
					tt.status, tt.challenge, tt.body)
			}
		})
	}
	if len(rejected) != 2 || !errors.Is(rejected[0], tollgate.ErrInsufficientScope) || rejected[0].Check != "scope" {
		t.Fatalf("observer saw %v, want the two insufficient_scope rejections behind the middleware", rejected)
	}
}

func TestWriteErrorClasses(t *testing.T) {
	tests := []struct {
		err        error
		status     int
		challenge  string
		retryAfter string
	}{
		{err: tollgate.ErrNoToken, status: 401, challenge: "Bearer"},
		{err: &tollgate.Error{Kind: tollgate.ErrInvalidRequest, Detail: "something user-defined"}, status: 400,
			challenge: `Bearer error="invalid_request", error_description="malformed request"`},
		{err: &tollgate.Error{Kind: tollgate.ErrInvalidToken, Detail: "secret detail"}, status: 401,
			challenge: `Bearer error="invalid_token", error_description="the access token is invalid"`},
		{err: fmt.Errorf("wrapped: %w", tollgate.ErrExpired), status: 401,
			challenge: `Bearer error="invalid_token", error_description="the access token expired"`},
		{err: tollgate.ErrInsufficientScope, status: 403, challenge: `Bearer error="insufficient_scope"`},
		{err: tollgate.ErrUnavailable, status: 503, retryAfter: "5"},
		{err: context.Canceled, status: 503, retryAfter: "5"},
		{err: errors.New("anything else"), status: 401,
			challenge: `Bearer error="invalid_token", error_description="the access token is invalid"`},
		{err: nil, status: 500},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			rec := httptest.NewRecorder()
			middleware.WriteError(rec, httptest.NewRequest("GET", "/", nil), tt.err)
			if rec.Code != tt.status || rec.Header().Get("WWW-Authenticate") != tt.challenge || rec.Header().Get("Retry-After") != tt.retryAfter {
				t.Fatalf("got %d %q %q", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Header().Get("Retry-After"))
			}
			if strings.Contains(rec.Body.String(), "detail") {
				t.Fatalf("body leaks the error detail: %q", rec.Body.String())
			}
		})
	}
}

// problem renders RFC 9457 problem details, and tries to change the status
// and the headers, which the middleware must not allow.
func problem(w http.ResponseWriter, r *http.Request, rej middleware.Rejection) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Del("WWW-Authenticate")
	w.Header().Del("Retry-After")
	w.WriteHeader(http.StatusTeapot)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "status": rej.Status, "title": http.StatusText(rej.Status),
		"detail": rej.Description, "error": rej.Code, "scope": strings.Join(rej.Scopes, " "),
	})
}

func TestErrorHandler(t *testing.T) {
	tests := []struct {
		name       string
		eh         func(http.ResponseWriter, *http.Request, middleware.Rejection)
		req        reqShape
		status     int
		challenge  string
		retryAfter string
		body       string
		ctype      string
	}{
		{name: "problem details for an invalid token", eh: problem, req: reqShape{auth: []string{"Bearer expired"}}, status: 401,
			challenge: `Bearer realm="api", error="invalid_token", error_description="the access token expired"`,
			body:      `{"detail":"the access token expired","error":"invalid_token","scope":"","status":401,"title":"Unauthorized","type":"about:blank"}` + "\n",
			ctype:     "application/problem+json"},
		{name: "problem details for 503", eh: problem, req: reqShape{auth: []string{"Bearer unavailable"}}, status: 503, retryAfter: "5",
			body:  `{"detail":"","error":"","scope":"","status":503,"title":"Service Unavailable","type":"about:blank"}` + "\n",
			ctype: "application/problem+json"},
		{name: "problem details for a missing scope", eh: problem, req: reqShape{auth: []string{"Bearer " + goodTok}, target: "/admin"}, status: 403,
			challenge: `Bearer realm="api", error="insufficient_scope", scope="admin"`,
			body:      `{"detail":"","error":"insufficient_scope","scope":"admin","status":403,"title":"Forbidden","type":"about:blank"}` + "\n",
			ctype:     "application/problem+json"},
		{name: "handler that writes nothing", eh: func(http.ResponseWriter, *http.Request, middleware.Rejection) {},
			req: reqShape{}, status: 401, challenge: `Bearer realm="api"`},
		{name: "twin: accepted requests never reach it", eh: problem, req: reqShape{auth: []string{"Bearer " + goodTok}}, status: 200,
			body: `ok alice query="" uri="/orders" body="" form=""`, ctype: "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw := newMW(t, middleware.Config{Realm: "api", ErrorHandler: tt.eh})
			h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/admin" {
					middleware.WriteError(w, r, tollgate.RequireScope(r.Context(), "admin"))
					return
				}
				echo(w, r)
			}))
			rec := serve(h, tt.req.build())
			if rec.Code != tt.status || rec.Header().Get("WWW-Authenticate") != tt.challenge ||
				rec.Header().Get("Retry-After") != tt.retryAfter || rec.Body.String() != tt.body ||
				rec.Header().Get("Content-Type") != tt.ctype {
				t.Fatalf("got %d %q %q %q %q", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Header().Get("Retry-After"),
					rec.Header().Get("Content-Type"), rec.Body.String())
			}
		})
	}
}

func TestQueryTokenIsRemovedEverywhere(t *testing.T) {
	mw := newMW(t, middleware.Config{AllowQueryToken: true})
	var got *http.Request
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r }))
	r := httptest.NewRequest("GET", "/orders?x=1&access_token="+goodTok+"&y=%20", nil)
	_ = r.ParseForm() // an earlier middleware parsed the form already
	orig := r.URL.String()
	serve(h, r)
	if got == nil {
		t.Fatal("handler not called")
	}
	for name, s := range map[string]string{
		"URL": got.URL.String(), "RequestURI": got.RequestURI, "Form": got.Form.Encode(),
	} {
		if strings.Contains(s, goodTok) || strings.Contains(s, "access_token") {
			t.Errorf("%s still holds the token: %q", name, s)
		}
	}
	if got.URL.RawQuery != "x=1&y=%20" || got.RequestURI != "/orders?x=1&y=%20" || got.Form.Get("y") != " " {
		t.Errorf("other parameters changed: %q %q %q", got.URL.RawQuery, got.RequestURI, got.Form)
	}
	if r.URL.String() != orig || !r.Form.Has("access_token") {
		t.Error("the caller's request was modified instead of a copy")
	}
}

func TestFormAlreadyParsed(t *testing.T) {
	mw := newMW(t, middleware.Config{AllowFormToken: true})
	var got *http.Request
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r }))
	r := httptest.NewRequest("POST", "/orders", strings.NewReader("access_token="+goodTok+"&a=1"))
	r.Header.Set("Content-Type", formType)
	if err := r.ParseForm(); err != nil {
		t.Fatal(err)
	}
	rec := serve(h, r)
	if rec.Code != 200 || got == nil {
		t.Fatalf("status %d", rec.Code)
	}
	if got.PostForm.Has("access_token") || got.Form.Has("access_token") || got.PostForm.Get("a") != "1" {
		t.Fatalf("PostForm %q Form %q", got.PostForm, got.Form)
	}
}

// Over a real server, the body limit closes the connection rather than
// reading an attacker's gigabytes, and a handler behind a middleware without
// form tokens still reads its body.
func TestBodiesOverRealServer(t *testing.T) {
	withForm := newMW(t, middleware.Config{AllowFormToken: true, MaxFormBytes: 1 << 10})
	without := newMW(t, middleware.Config{})
	mux := http.NewServeMux()
	mux.Handle("/form", withForm.Handler(echo))
	mux.Handle("/json", without.Handler(echo))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(path, ctype, body string, auth bool) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		if auth {
			req.Header.Set("Authorization", "Bearer "+goodTok)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := post("/form", formType, "access_token="+goodTok+"&q=1", false); code != 200 || body != `ok alice query="" uri="/form" body="q=1" form="q=1"` {
		t.Errorf("form token: %d %q", code, body)
	}
	if code, body := post("/form", formType, "access_token="+goodTok+"&q="+strings.Repeat("x", 2<<10), false); code != 400 || body != "Bad Request: form body too large\n" {
		t.Errorf("oversized form: %d %q", code, body)
	}
	if code, body := post("/json", "application/json", `{"a":1}`, true); code != 200 || body != `ok alice query="" uri="/json" body="{\"a\":1}" form=""` {
		t.Errorf("json body: %d %q", code, body)
	}
}

func TestObserver(t *testing.T) {
	var accepts []tollgate.AcceptEvent
	var rejects []tollgate.RejectEvent
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	mw := newMW(t, middleware.Config{
		Now: func() time.Time { clock = clock.Add(time.Millisecond); return clock },
		Observer: tollgate.Observer{
			OnAccept: func(_ context.Context, e tollgate.AcceptEvent) { accepts = append(accepts, e) },
			OnReject: func(_ context.Context, e tollgate.RejectEvent) { rejects = append(rejects, e) },
		},
		Check: tenantCheck,
	})
	h := mw.Handler(echo)
	serve(h, reqShape{auth: []string{"Bearer " + goodTok}}.build())
	serve(h, reqShape{auth: []string{"Bearer expired"}}.build())
	serve(h, reqShape{}.build())
	serve(h, reqShape{auth: []string{"Bearer " + goodTok}, target: "/tenants/other"}.build())
	if len(accepts) != 1 || accepts[0].Principal != alice || accepts[0].Duration != time.Millisecond {
		t.Fatalf("accepts = %+v", accepts)
	}
	wantRejects := []struct {
		kind  error
		check string
	}{{tollgate.ErrExpired, "exp"}, {tollgate.ErrNoToken, "authorization"}, {tollgate.ErrInvalidToken, ""}}
	if len(rejects) != len(wantRejects) {
		t.Fatalf("rejects = %+v", rejects)
	}
	for i, w := range wantRejects {
		if !errors.Is(rejects[i].Err, w.kind) || rejects[i].Err.Check != w.check || rejects[i].Duration != time.Millisecond {
			t.Errorf("reject %d = %v (check %q, %v), want %v (check %q)", i, rejects[i].Err, rejects[i].Err.Check, rejects[i].Duration, w.kind, w.check)
		}
	}
}

func TestLogObserverNeverLogsTheToken(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mw := newMW(t, middleware.Config{AllowQueryToken: true, Observer: tollgate.NewLogObserver(log)})
	h := mw.Handler(echo)
	secret := "s3cr3t-t0ken"
	for _, r := range []*http.Request{
		reqShape{auth: []string{"Bearer " + secret}}.build(),
		reqShape{auth: []string{"Bearer " + secret + " x"}}.build(),
		reqShape{target: "/?access_token=" + url.QueryEscape(secret) + "&access_token=2"}.build(),
		reqShape{auth: []string{"Bearer " + goodTok}}.build(),
	} {
		serve(h, r)
	}
	out := buf.String()
	if strings.Count(out, "\n") != 4 || !strings.Contains(out, `"sub":"alice"`) {
		t.Fatalf("expected 4 records with the accepted subject:\n%s", out)
	}
	if strings.Contains(out, secret) || strings.Contains(out, goodTok) {
		t.Fatalf("log contains a token:\n%s", out)
	}
}

// TestQueryTokenAnswerIsPrivate: RFC 6750 section 2.3 - a successful answer
// to a request whose token came in the query is marked Cache-Control: private;
// a header token's answer (the twin) is left to the handler.
func TestQueryTokenAnswerIsPrivate(t *testing.T) {
	mw := newMW(t, middleware.Config{AllowQueryToken: true})
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	rec := serve(h, httptest.NewRequest("GET", "/orders?access_token="+goodTok, nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "private" {
		t.Fatalf("query token: %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	r := httptest.NewRequest("GET", "/orders", nil)
	r.Header.Set("Authorization", "Bearer "+goodTok)
	rec = serve(h, r)
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "" {
		t.Fatalf("header token: %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
}
