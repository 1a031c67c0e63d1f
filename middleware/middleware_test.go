package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/middleware"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	metaURL = "https://api.example.com/.well-known/oauth-protected-resource"
	goodTok = "mF_9.B5f-4.1JqM"
)

var alice = tollgate.NewPrincipal(tollgate.PrincipalInfo{
	Subject: "alice", ClientID: "app", Scopes: tollgate.ParseScopes("orders:read profile"), Kind: tollgate.KindJWT,
})

// testValidator accepts goodTok and answers other tokens with the failure
// their name describes, the way real validators do.
func testValidator(seen *[]string) tollgate.Validator {
	return tollgate.ValidatorFunc(func(ctx context.Context, token string) (*tollgate.Principal, error) {
		if seen != nil {
			*seen = append(*seen, token)
		}
		switch token {
		case goodTok:
			return alice, nil
		case "expired":
			return nil, &tollgate.Error{Kind: tollgate.ErrExpired, Check: "exp", Detail: "expired 3m0s ago"}
		case "notyet":
			return nil, &tollgate.Error{Kind: tollgate.ErrExpired, Check: "nbf", Detail: "not valid for 2m0s"}
		case "unavailable":
			return nil, &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "jwks", Detail: "keys never loaded"}
		case "deadline":
			return nil, fmt.Errorf("fetching keys: %w", context.DeadlineExceeded)
		case "plain":
			return nil, errors.New("custom validator said no")
		case "nothing":
			return nil, nil // a broken validator
		}
		return nil, &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "signature", Detail: "signature does not verify"}
	})
}

// echo answers 200 with what the handler saw: the subject, the query, the
// request URI, the body and then the form (the parts of it that ParseForm
// can still read after the body was read).
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	sub := "anonymous"
	if p, ok := tollgate.FromContext(r.Context()); ok {
		sub = p.Subject()
	}
	body, _ := io.ReadAll(r.Body)
	_ = r.ParseForm()
	fmt.Fprintf(w, "ok %s query=%q uri=%q body=%q form=%q", sub, r.URL.RawQuery, r.RequestURI, body, r.Form.Encode())
})

type reqShape struct {
	method, target string
	auth           []string // Authorization header values, one header line each
	contentType    string
	body           string
}

func (s reqShape) build() *http.Request {
	method, target := s.method, s.target
	if method == "" {
		method = http.MethodGet
	}
	if target == "" {
		target = "/orders"
	}
	var body io.Reader
	if s.body != "" {
		body = strings.NewReader(s.body)
	}
	r := httptest.NewRequest(method, target, body)
	for _, a := range s.auth {
		r.Header.Add("Authorization", a)
	}
	if s.contentType != "" {
		r.Header.Set("Content-Type", s.contentType)
	}
	return r
}

const formType = "application/x-www-form-urlencoded"

func TestRequestShapes(t *testing.T) {
	const (
		noCreds      = `Bearer realm="api", resource_metadata="` + metaURL + `"`
		emptyTok     = `Bearer realm="api", error="invalid_request", error_description="empty bearer token"`
		malformed    = `Bearer realm="api", error="invalid_request", error_description="malformed bearer token"`
		twoHeaders   = `Bearer realm="api", error="invalid_request", error_description="more than one Authorization header"`
		twoPlaces    = `Bearer realm="api", error="invalid_request", error_description="bearer token sent in more than one way"`
		twoParams    = `Bearer realm="api", error="invalid_request", error_description="more than one access_token parameter"`
		invalid      = `Bearer realm="api", error="invalid_token", error_description="the access token is invalid", resource_metadata="` + metaURL + `"`
		expired      = `Bearer realm="api", error="invalid_token", error_description="the access token expired", resource_metadata="` + metaURL + `"`
		notYet       = `Bearer realm="api", error="invalid_token", error_description="the access token is not yet valid", resource_metadata="` + metaURL + `"`
		okAlice      = `ok alice query="" uri="/orders" body="" form=""`
		unauthorized = "Unauthorized\n"
	)
	huge := strings.Repeat("A", 64<<10)
	tests := []struct {
		name  string
		cfg   func(*middleware.Config)
		req   reqShape
		check func(*http.Request, *tollgate.Principal) error

		status     int
		challenge  string // exact WWW-Authenticate; "" means absent
		retryAfter string
		body       string
		validated  []string // tokens the validator was asked about
	}{
		{name: "header", req: reqShape{auth: []string{"Bearer " + goodTok}},
			status: 200, body: okAlice, validated: []string{goodTok}},
		{name: "scheme lower case", req: reqShape{auth: []string{"bearer " + goodTok}},
			status: 200, body: okAlice, validated: []string{goodTok}},
		{name: "scheme upper case", req: reqShape{auth: []string{"BEARER " + goodTok}},
			status: 200, body: okAlice, validated: []string{goodTok}},
		{name: "several spaces", req: reqShape{auth: []string{"Bearer    " + goodTok}},
			status: 200, body: okAlice, validated: []string{goodTok}},
		{name: "padding", req: reqShape{auth: []string{"Bearer abc=="}},
			status: 401, challenge: invalid, body: "Unauthorized: the access token is invalid\n", validated: []string{"abc=="}},
		{name: "no credentials", req: reqShape{},
			status: 401, challenge: noCreds, body: unauthorized},
		{name: "empty header", req: reqShape{auth: []string{""}},
			status: 401, challenge: noCreds, body: unauthorized},
		{name: "basic", req: reqShape{auth: []string{"Basic dXNlcjpwYXNz"}},
			status: 401, challenge: noCreds, body: unauthorized},
		{name: "scheme glued to token is another scheme", req: reqShape{auth: []string{"Bearer" + goodTok}},
			status: 401, challenge: noCreds, body: unauthorized},
		{name: "scheme only", req: reqShape{auth: []string{"Bearer"}},
			status: 400, challenge: emptyTok, body: "Bad Request: empty bearer token\n"},
		{name: "scheme and space", req: reqShape{auth: []string{"Bearer "}},
			status: 400, challenge: emptyTok, body: "Bad Request: empty bearer token\n"},
		{name: "tab separator", req: reqShape{auth: []string{"Bearer\t" + goodTok}},
			status: 400, challenge: malformed, body: "Bad Request: malformed bearer token\n"},
		{name: "two words", req: reqShape{auth: []string{"Bearer " + goodTok + " extra"}},
			status: 400, challenge: malformed, body: "Bad Request: malformed bearer token\n"},
		{name: "bad character", req: reqShape{auth: []string{"Bearer abc$def"}},
			status: 400, challenge: malformed, body: "Bad Request: malformed bearer token\n"},
		{name: "quote in token", req: reqShape{auth: []string{`Bearer abc"def`}},
			status: 400, challenge: malformed, body: "Bad Request: malformed bearer token\n"},
		{name: "padding first", req: reqShape{auth: []string{"Bearer =abc"}},
			status: 400, challenge: malformed, body: "Bad Request: malformed bearer token\n"},
		{name: "comma-joined credentials", req: reqShape{auth: []string{"Bearer a, Bearer b"}},
			status: 400, challenge: malformed, body: "Bad Request: malformed bearer token\n"},
		{name: "two authorization headers", req: reqShape{auth: []string{"Bearer " + goodTok, "Bearer " + goodTok}},
			status: 400, challenge: twoHeaders, body: "Bad Request: more than one Authorization header\n"},
		{name: "bearer and basic headers", req: reqShape{auth: []string{"Bearer " + goodTok, "Basic dXNlcjpwYXNz"}},
			status: 400, challenge: twoHeaders, body: "Bad Request: more than one Authorization header\n"},
		{name: "huge token", req: reqShape{auth: []string{"Bearer " + huge}},
			status: 401, challenge: invalid, body: "Unauthorized: the access token is invalid\n", validated: []string{huge}},

		// Query (RFC 6750 section 2.3).
		{name: "query token, not enabled", req: reqShape{target: "/orders?access_token=" + goodTok},
			status: 401, challenge: noCreds, body: unauthorized},
		{name: "query token, enabled", cfg: allowQuery, req: reqShape{target: "/orders?a=1&access_token=" + goodTok + "&b=2"},
			status: 200, body: `ok alice query="a=1&b=2" uri="/orders?a=1&b=2" body="" form="a=1&b=2"`, validated: []string{goodTok}},
		{name: "query token only parameter", cfg: allowQuery, req: reqShape{target: "/orders?access_token=" + goodTok},
			status: 200, body: okAlice, validated: []string{goodTok}},
		{name: "query token, escaped name", cfg: allowQuery, req: reqShape{target: "/orders?%61ccess_token=" + goodTok},
			status: 200, body: okAlice, validated: []string{goodTok}},
		{name: "query token, escaped value", cfg: allowQuery, req: reqShape{target: "/orders?access_token=a%2Bb%2F%3D"},
			status: 401, challenge: invalid, body: "Unauthorized: the access token is invalid\n", validated: []string{"a+b/="}},
		{name: "query token, plus is a space", cfg: allowQuery, req: reqShape{target: "/orders?access_token=a+b"},
			status: 400, challenge: malformed, body: "Bad Request: malformed bearer token\n"},
		{name: "query token, bad escape", cfg: allowQuery, req: reqShape{target: "/orders?access_token=a%zz"},
			status: 400, challenge: malformed, body: "Bad Request: malformed bearer token\n"},
		{name: "query token, empty", cfg: allowQuery, req: reqShape{target: "/orders?access_token="},
			status: 400, challenge: emptyTok, body: "Bad Request: empty bearer token\n"},
		{name: "query token twice", cfg: allowQuery, req: reqShape{target: "/orders?access_token=" + goodTok + "&access_token=" + goodTok},
			status: 400, challenge: twoParams, body: "Bad Request: more than one access_token parameter\n"},
		{name: "header and query, query not enabled", req: reqShape{target: "/orders?access_token=" + goodTok, auth: []string{"Bearer " + goodTok}},
			status: 400, challenge: twoPlaces, body: "Bad Request: bearer token sent in more than one way\n"},
		{name: "header and query, enabled", cfg: allowQuery, req: reqShape{target: "/orders?access_token=x", auth: []string{"Bearer " + goodTok}},
			status: 400, challenge: twoPlaces, body: "Bad Request: bearer token sent in more than one way\n"},
		{name: "header and other query parameters", req: reqShape{target: "/orders?access=1&token=2", auth: []string{"Bearer " + goodTok}},
			status: 200, body: `ok alice query="access=1&token=2" uri="/orders?access=1&token=2" body="" form="access=1&token=2"`, validated: []string{goodTok}},
		{name: "basic header and query token", cfg: allowQuery, req: reqShape{target: "/orders?access_token=" + goodTok, auth: []string{"Basic dXNlcjpwYXNz"}},
			status: 200, body: okAlice, validated: []string{goodTok}},
		{name: "semicolon hides nothing", cfg: allowQuery, req: reqShape{target: "/orders?x=1;access_token=" + goodTok},
			status: 401, challenge: noCreds, body: unauthorized},

		// Form body (RFC 6750 section 2.2).
		{name: "form token, not enabled", req: reqShape{method: "POST", contentType: formType, body: "access_token=" + goodTok},
			status: 401, challenge: noCreds, body: unauthorized},
		{name: "form token, enabled", cfg: allowForm, req: reqShape{method: "POST", contentType: formType, body: "a=1&access_token=" + goodTok + "&b=2"},
			status: 200, body: `ok alice query="" uri="/orders" body="a=1&b=2" form="a=1&b=2"`, validated: []string{goodTok}},
		{name: "form token, charset parameter", cfg: allowForm, req: reqShape{method: "POST", contentType: formType + "; charset=UTF-8", body: "access_token=" + goodTok},
			status: 200, body: okAlice, validated: []string{goodTok}},
		{name: "form token in a GET", cfg: allowForm, req: reqShape{method: "GET", contentType: formType, body: "access_token=" + goodTok},
			status: 401, challenge: noCreds, body: unauthorized},
		{name: "form token in a JSON body", cfg: allowForm, req: reqShape{method: "POST", contentType: "application/json", body: "access_token=" + goodTok},
			status: 401, challenge: noCreds, body: unauthorized},
		{name: "form token in multipart", cfg: allowForm, req: reqShape{method: "POST", contentType: "multipart/form-data; boundary=x", body: "access_token=" + goodTok},
			status: 401, challenge: noCreds, body: unauthorized},
		{name: "form token twice", cfg: allowForm, req: reqShape{method: "POST", contentType: formType, body: "access_token=a&access_token=b"},
			status: 400, challenge: `Bearer realm="api", error="invalid_request", error_description="more than one access_token parameter"`,
			body: "Bad Request: more than one access_token parameter\n"},
		{name: "form token, bad character", cfg: allowForm, req: reqShape{method: "POST", contentType: formType, body: "access_token=a%00b"},
			status: 400, challenge: malformed, body: "Bad Request: malformed bearer token\n"},
		{name: "header and form, form enabled", cfg: allowForm, req: reqShape{method: "POST", contentType: formType, body: "access_token=" + goodTok, auth: []string{"Bearer " + goodTok}},
			status: 400, challenge: twoPlaces, body: "Bad Request: bearer token sent in more than one way\n"},
		{name: "header and form, form not enabled", req: reqShape{method: "POST", contentType: formType, body: "access_token=x", auth: []string{"Bearer " + goodTok}},
			status: 200, body: `ok alice query="" uri="/orders" body="access_token=x" form=""`, validated: []string{goodTok}},
		{name: "header and form without token, form enabled", cfg: allowForm, req: reqShape{method: "POST", contentType: formType, body: "a=1", auth: []string{"Bearer " + goodTok}},
			status: 200, body: `ok alice query="" uri="/orders" body="a=1" form="a=1"`, validated: []string{goodTok}},
		{name: "form and query", cfg: allowForm, req: reqShape{method: "POST", target: "/orders?access_token=x", contentType: formType, body: "access_token=" + goodTok},
			status: 400, challenge: twoPlaces, body: "Bad Request: bearer token sent in more than one way\n"},
		{name: "form body too large", cfg: func(c *middleware.Config) { c.AllowFormToken, c.MaxFormBytes = true, 64 },
			req:    reqShape{method: "POST", contentType: formType, body: "access_token=" + goodTok + "&pad=" + strings.Repeat("x", 64)},
			status: 400, challenge: `Bearer realm="api", error="invalid_request", error_description="form body too large"`,
			body: "Bad Request: form body too large\n"},
		{name: "form body at the limit", cfg: func(c *middleware.Config) { c.AllowFormToken, c.MaxFormBytes = true, 64 },
			req:    reqShape{method: "POST", contentType: formType, body: "access_token=" + goodTok + "&pad=" + strings.Repeat("x", 64-33)},
			status: 200, body: `ok alice query="" uri="/orders" body="pad=` + strings.Repeat("x", 31) + `" form="pad=` + strings.Repeat("x", 31) + `"`, validated: []string{goodTok}},

		// Failure classes of the validator.
		{name: "invalid token", req: reqShape{auth: []string{"Bearer forged"}},
			status: 401, challenge: invalid, body: "Unauthorized: the access token is invalid\n", validated: []string{"forged"}},
		{name: "expired token", req: reqShape{auth: []string{"Bearer expired"}},
			status: 401, challenge: expired, body: "Unauthorized: the access token expired\n", validated: []string{"expired"}},
		{name: "token not yet valid", req: reqShape{auth: []string{"Bearer notyet"}},
			status: 401, challenge: notYet, body: "Unauthorized: the access token is not yet valid\n", validated: []string{"notyet"}},
		{name: "plain error fails closed", req: reqShape{auth: []string{"Bearer plain"}},
			status: 401, challenge: invalid, body: "Unauthorized: the access token is invalid\n", validated: []string{"plain"}},
		{name: "unavailable", req: reqShape{auth: []string{"Bearer unavailable"}},
			status: 503, retryAfter: "5", body: "Service Unavailable\n", validated: []string{"unavailable"}},
		{name: "deadline is unavailable", req: reqShape{auth: []string{"Bearer deadline"}},
			status: 503, retryAfter: "5", body: "Service Unavailable\n", validated: []string{"deadline"}},
		{name: "validator returning nothing", req: reqShape{auth: []string{"Bearer nothing"}},
			status: 503, retryAfter: "5", body: "Service Unavailable\n", validated: []string{"nothing"}},
		{name: "retry after rounded up", cfg: func(c *middleware.Config) { c.RetryAfter = 1500 * time.Millisecond },
			req:    reqShape{auth: []string{"Bearer unavailable"}},
			status: 503, retryAfter: "2", body: "Service Unavailable\n", validated: []string{"unavailable"}},

		// Per-request check.
		{name: "check passes", req: reqShape{target: "/tenants/acme", auth: []string{"Bearer " + goodTok}},
			check:  tenantCheck,
			status: 200, body: `ok alice query="" uri="/tenants/acme" body="" form=""`, validated: []string{goodTok}},
		{name: "check refuses with a plain error", req: reqShape{target: "/tenants/other", auth: []string{"Bearer " + goodTok}},
			check:  tenantCheck,
			status: 401, challenge: invalid, body: "Unauthorized: the access token is invalid\n", validated: []string{goodTok}},
		{name: "check refuses with insufficient scope", req: reqShape{target: "/admin", auth: []string{"Bearer " + goodTok}},
			check: func(r *http.Request, p *tollgate.Principal) error {
				return &tollgate.Error{Kind: tollgate.ErrInsufficientScope, Check: "scope", Scopes: []string{"admin"}}
			},
			status: 403, challenge: `Bearer realm="api", error="insufficient_scope", scope="admin", resource_metadata="` + metaURL + `"`,
			body: "Forbidden\n", validated: []string{goodTok}},

		// Challenge attributes that depend on the configuration.
		{name: "no realm", cfg: func(c *middleware.Config) { c.Realm = "" }, req: reqShape{},
			status: 401, challenge: `Bearer resource_metadata="` + metaURL + `"`, body: unauthorized},
		{name: "no realm, no metadata", cfg: func(c *middleware.Config) { c.Realm, c.ResourceMetadataURL = "", "" }, req: reqShape{},
			status: 401, challenge: "Bearer", body: unauthorized},
		{name: "no realm, invalid token", cfg: func(c *middleware.Config) { c.Realm, c.ResourceMetadataURL = "", "" },
			req:    reqShape{auth: []string{"Bearer forged"}},
			status: 401, challenge: `Bearer error="invalid_token", error_description="the access token is invalid"`,
			body: "Unauthorized: the access token is invalid\n", validated: []string{"forged"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := middleware.Config{Realm: "api", ResourceMetadataURL: metaURL, Check: tt.check}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			var seen []string
			mw, err := middleware.New(testValidator(&seen), cfg)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			mw.Handler(echo).ServeHTTP(rec, tt.req.build())
			res := rec.Result()
			if res.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", res.StatusCode, tt.status)
			}
			if got := res.Header.Values("WWW-Authenticate"); tt.challenge == "" && len(got) != 0 || tt.challenge != "" && (len(got) != 1 || got[0] != tt.challenge) {
				t.Errorf("WWW-Authenticate = %q\nwant %q", got, tt.challenge)
			}
			if got := res.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if got := rec.Body.String(); got != tt.body {
				t.Errorf("body = %q\nwant %q", got, tt.body)
			}
			if fmt.Sprint(seen) != fmt.Sprint(tt.validated) {
				t.Errorf("validator saw %q, want %q", seen, tt.validated)
			}
			if tt.status != 200 && strings.Contains(rec.Body.String()+fmt.Sprint(res.Header), goodTok) {
				t.Error("the answer echoes the token")
			}
		})
	}
}

func allowQuery(c *middleware.Config) { c.AllowQueryToken = true }
func allowForm(c *middleware.Config)  { c.AllowFormToken = true }

func tenantCheck(r *http.Request, p *tollgate.Principal) error {
	if strings.HasPrefix(r.URL.Path, "/tenants/") && r.URL.Path != "/tenants/acme" {
		return errors.New("principal belongs to another tenant")
	}
	return nil
}

// TestCheckRunsOnCacheHits: Check runs on every request, including those a
// cache in front of the validator answers without calling it: a token
// validated once for its own tenant is refused for another tenant's path.
func TestCheckRunsOnCacheHits(t *testing.T) {
	var seen []string
	c, err := cache.New(testValidator(&seen), cache.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mw, err := middleware.New(c, middleware.Config{Realm: "api", Check: tenantCheck})
	if err != nil {
		t.Fatal(err)
	}
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tollgate.FromContext(r.Context())
		fmt.Fprint(w, "ok ", p.Subject())
	}))
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/tenants/acme", 200},
		{"/tenants/other", 401}, // a cache hit, refused by Check
		{"/tenants/acme", 200},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+goodTok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Fatalf("GET %s: %d %q, want %d", tc.path, rec.Code, rec.Body, tc.status)
		}
	}
	if len(seen) != 1 {
		t.Fatalf("validator called %d times, want 1 (the other requests are cache hits)", len(seen))
	}
}
