package middleware_test

// Hostile requests through the real parts: net/http's server, the middleware,
// the JWT validator with its cache, and keys of an oauthtest server. What
// net/http refuses on its own is recorded too, so that the answer a client
// gets is known for every shape.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// hostileAPI is an API behind the middleware and the real validator.
type hostileAPI struct {
	token  string // a valid token
	calls  atomic.Int64
	mu     sync.Mutex
	checks []string // Check of every rejection, in order
	mw     *middleware.Middleware
	h      http.Handler
}

func newHostileAPI(t *testing.T, cfg middleware.Config) *hostileAPI {
	t.Helper()
	as := oauthtest.New(oauthtest.Config{Algorithm: "ES256"})
	t.Cleanup(as.Close)
	key, err := jwks.NewKey(as.SigningKey().ID(), "ES256", as.SigningKey().Public())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwks.New(jwks.Config{Keys: []*jwks.Key{key}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{{
		Issuer: as.Issuer(), Audiences: []string{as.Audience()}, Keys: keys,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	api := &hostileAPI{token: as.JWT(oauthtest.TokenOptions{Subject: "alice"})}
	cfg.Realm = "api"
	cfg.Observer = tollgate.Observer{OnReject: func(_ context.Context, e tollgate.RejectEvent) {
		api.mu.Lock()
		defer api.mu.Unlock()
		api.checks = append(api.checks, e.Err.Check)
	}}
	counted := tollgate.ValidatorFunc(func(ctx context.Context, token string) (*tollgate.Principal, error) {
		api.calls.Add(1)
		return v.Validate(ctx, token)
	})
	api.mw, err = middleware.New(counted, cfg)
	if err != nil {
		t.Fatal(err)
	}
	api.h = api.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tollgate.FromContext(r.Context())
		fmt.Fprintf(w, "ok %s", p.Subject())
	}))
	return api
}

func (api *hostileAPI) rejections() []string {
	api.mu.Lock()
	defer api.mu.Unlock()
	return append([]string(nil), api.checks...)
}

// rawExchange sends the bytes of one request to a real server and reads its
// answer, so that requests net/http's client would refuse to send (control
// bytes, repeated headers, a megabyte of them) reach the server as written.
func rawExchange(t *testing.T, srv *httptest.Server, request string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	written := make(chan struct{})
	go func() {
		defer close(written)
		// The server may answer and close before reading it all.
		_, _ = io.WriteString(conn, request)
	}()
	defer func() { conn.Close(); <-written }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

const (
	hostileMalformed  = `Bearer realm="api", error="invalid_request", error_description="malformed bearer token"`
	hostileTwoHeaders = `Bearer realm="api", error="invalid_request", error_description="more than one Authorization header"`
	hostileTwoPlaces  = `Bearer realm="api", error="invalid_request", error_description="bearer token sent in more than one way"`
	hostileFormLarge  = `Bearer realm="api", error="invalid_request", error_description="form body too large"`
	hostileInvalid    = `Bearer realm="api", error="invalid_token", error_description="the access token is invalid"`
)

// TestHostileRequests sends hostile requests through net/http's server
// (default limits: http.DefaultMaxHeaderBytes, 1 MiB, plus net/http's own
// 4 KiB of slack) to the middleware and the real validator. Each row names
// the answer, whether the validator was asked, and which check refused it.
// Megabyte tokens cost a size comparison: the validator refuses them before
// decoding (and the cache before hashing). The resource_metadata of a
// challenge is the configured URL whatever the request's Host and
// X-Forwarded-* headers say (RFC 9728, impersonation attacks).
func TestHostileRequests(t *testing.T) {
	const mib = 1 << 20
	b64 := func(n int) string { return strings.Repeat("A", n) }
	for _, tc := range []struct {
		name    string
		cfg     middleware.Config
		request func(token string) string // the bytes sent

		status    int
		challenge string // exact WWW-Authenticate; "" means none
		validated int64  // calls to the validator
		check     string // Check of the rejection the middleware reported; "-" for none
	}{
		{name: "valid token (twin)", request: func(tok string) string {
			return get("/", "Authorization: Bearer "+tok)
		}, status: 200, validated: 1, check: "-"},
		{name: "1000 Authorization headers", request: func(tok string) string {
			return get("/", strings.Repeat("Authorization: Bearer "+tok+"\r\n", 1000))
		}, status: 400, challenge: hostileTwoHeaders, check: "authorization"},
		{name: "header and query token, query tokens off", request: func(tok string) string {
			return get("/?access_token="+tok, "Authorization: Bearer "+tok)
		}, status: 400, challenge: hostileTwoPlaces, check: "authorization"},
		{name: "header and query token, query tokens on", cfg: middleware.Config{AllowQueryToken: true}, request: func(tok string) string {
			return get("/?access_token="+tok, "Authorization: Bearer "+tok)
		}, status: 400, challenge: hostileTwoPlaces, check: "authorization"},
		{name: "header and form token, form tokens on", cfg: middleware.Config{AllowFormToken: true}, request: func(tok string) string {
			return post("/", "access_token="+tok, "Authorization: Bearer "+tok)
		}, status: 400, challenge: hostileTwoPlaces, check: "authorization"},
		{name: "spoofed Host and X-Forwarded headers", cfg: middleware.Config{ResourceMetadataURL: metaURL}, request: func(string) string {
			return "GET / HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: http\r\nConnection: close\r\n\r\n"
		}, status: 401, challenge: `Bearer realm="api", resource_metadata="` + metaURL + `"`, check: "authorization"},
		{name: "token of 1 MiB in the header", request: func(string) string {
			return get("/", "Authorization: Bearer "+b64(mib))
		}, status: 401, challenge: hostileInvalid, validated: 1, check: "size"},
		{name: "token of 1 MiB in the query", cfg: middleware.Config{AllowQueryToken: true}, request: func(string) string {
			return get("/?access_token="+b64(mib), "")
		}, status: 401, challenge: hostileInvalid, validated: 1, check: "size"},
		{name: "form body at the 1 MiB default limit", cfg: middleware.Config{AllowFormToken: true}, request: func(string) string {
			return post("/", "access_token="+b64(mib-len("access_token=")), "")
		}, status: 401, challenge: hostileInvalid, validated: 1, check: "size"},
		{name: "form token of 1 MiB: body past the limit", cfg: middleware.Config{AllowFormToken: true}, request: func(string) string {
			return post("/", "access_token="+b64(mib), "")
		}, status: 400, challenge: hostileFormLarge, check: "form"},
		{name: "header block past net/http's limit", request: func(string) string {
			return get("/", "Authorization: Bearer "+b64(mib+8<<10))
		}, status: http.StatusRequestHeaderFieldsTooLarge, check: "-"},
		{name: "Latin-1 byte in the token", request: func(tok string) string {
			return get("/", "Authorization: Bearer "+tok[:10]+"\xe9"+tok[10:])
		}, status: 400, challenge: hostileMalformed, check: "authorization"},
		{name: "UTF-8 in the token", request: func(tok string) string {
			return get("/", "Authorization: Bearer "+tok[:10]+"é"+tok[10:])
		}, status: 400, challenge: hostileMalformed, check: "authorization"},
		{name: "no-break space after the scheme", request: func(tok string) string {
			return get("/", "Authorization: Bearer\u00a0"+tok)
		}, status: 400, challenge: hostileMalformed, check: "authorization"},
		{name: "tab inside the token", request: func(tok string) string {
			return get("/", "Authorization: Bearer "+tok[:10]+"\t"+tok[10:])
		}, status: 400, challenge: hostileMalformed, check: "authorization"},
		// net/http refuses control characters in header values itself (RFC
		// 9110 section 5.5): the middleware never sees them.
		{name: "NUL in the token", request: func(tok string) string {
			return get("/", "Authorization: Bearer "+tok[:10]+"\x00"+tok[10:])
		}, status: 400, check: "-"},
		{name: "DEL in the token", request: func(tok string) string {
			return get("/", "Authorization: Bearer "+tok[:10]+"\x7f"+tok[10:])
		}, status: 400, check: "-"},
		{name: "carriage return in the token", request: func(tok string) string {
			return get("/", "Authorization: Bearer "+tok[:10]+"\r"+tok[10:])
		}, status: 400, check: "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newHostileAPI(t, tc.cfg)
			srv := httptest.NewServer(api.h)
			defer srv.Close()
			resp, body := rawExchange(t, srv, tc.request(api.token))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%q)", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Values("WWW-Authenticate"); tc.challenge == "" && len(got) != 0 || tc.challenge != "" && (len(got) != 1 || got[0] != tc.challenge) {
				t.Errorf("WWW-Authenticate = %q\nwant %q", got, tc.challenge)
			}
			if n := api.calls.Load(); n != tc.validated {
				t.Errorf("validator called %d times, want %d", n, tc.validated)
			}
			checks := api.rejections()
			if tc.check == "-" && len(checks) != 0 || tc.check != "-" && (len(checks) != 1 || checks[0] != tc.check) {
				t.Errorf("rejections %q, want check %q", checks, tc.check)
			}
			if tc.status == 200 && body != "ok alice" {
				t.Errorf("body %q", body)
			}
			if tc.status != 200 && strings.Contains(body+fmt.Sprint(resp.Header), api.token[len(api.token)-20:]) {
				t.Error("the answer echoes the token")
			}
		})
	}
}

func get(target, headers string) string {
	if headers != "" && !strings.HasSuffix(headers, "\r\n") {
		headers += "\r\n"
	}
	return "GET " + target + " HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n" + headers + "\r\n"
}

func post(target, body, headers string) string {
	if headers != "" && !strings.HasSuffix(headers, "\r\n") {
		headers += "\r\n"
	}
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n%s\r\n%s",
		target, len(body), headers, body)
}

// TestHostileTokenBytes: transports other than net/http's HTTP/1 server (an
// HTTP/2 framework, a proxy in front) may hand the middleware header values
// with any bytes. Every byte outside the b64token alphabet is refused before
// the validator sees the token: 400 invalid_request, Check "authorization".
func TestHostileTokenBytes(t *testing.T) {
	api := newHostileAPI(t, middleware.Config{})
	tok := api.token
	for _, tc := range []struct {
		name   string
		header string
		ok     bool
	}{
		{"valid token (twin)", "Bearer " + tok, true},
		{"NUL", "Bearer " + tok[:8] + "\x00" + tok[8:], false},
		{"SOH", "Bearer " + tok[:8] + "\x01" + tok[8:], false},
		{"LF", "Bearer " + tok[:8] + "\n" + tok[8:], false},
		{"CR LF and another header", "Bearer " + tok + "\r\nX-Injected: 1", false},
		{"DEL", "Bearer " + tok + "\x7f", false},
		{"byte 0x80", "Bearer " + tok[:8] + "\x80" + tok[8:], false},
		{"byte 0xff", "Bearer \xff" + tok, false},
		{"UTF-8 lookalike of a dot", "Bearer " + strings.Replace(tok, ".", "\u2024", 1), false},
		{"invalid UTF-8", "Bearer " + tok[:8] + "\xc3\x28" + tok[8:], false},
		{"full-width letters", "Bearer ＡＢＣ" + tok, false},
		{"NUL after the token", "Bearer " + tok + "\x00", false},
		{"NUL in the scheme", "Bea\x00rer " + tok, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, rejected := api.calls.Load(), len(api.rejections())
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header["Authorization"] = []string{tc.header}
			rec := httptest.NewRecorder()
			api.h.ServeHTTP(rec, r)
			if tc.ok {
				if rec.Code != 200 {
					t.Fatalf("status %d", rec.Code)
				}
				return
			}
			checks := api.rejections()[rejected:]
			switch {
			case strings.HasPrefix(tc.header, "Bearer "):
				if rec.Code != 400 || rec.Header().Get("WWW-Authenticate") != hostileMalformed {
					t.Fatalf("status %d, challenge %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
				}
			default: // not the Bearer scheme: no credentials
				if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer realm="api"` {
					t.Fatalf("status %d, challenge %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
				}
			}
			if api.calls.Load() != before || len(checks) != 1 || checks[0] != "authorization" {
				t.Fatalf("validator called %d times, rejections %q", api.calls.Load()-before, checks)
			}
		})
	}
}
