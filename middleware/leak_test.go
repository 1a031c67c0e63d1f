package middleware_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// leakSink collects everything tollgate says about the requests of a test:
// the records of tollgate.NewLogObserver (JSON and text), every event handed
// to an Observer with every error in it spelled out, the error strings of
// direct calls, and the status lines, headers and bodies of the answers.
type leakSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *leakSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *leakSink) printf(format string, args ...any) { fmt.Fprintf(s, format+"\n", args...) }

func (s *leakSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// errText spells out err: its message, its *tollgate.Error fields and every
// error it wraps.
func errText(err error) string {
	if err == nil {
		return ""
	}
	var b strings.Builder
	var walk func(error)
	walk = func(err error) {
		fmt.Fprintf(&b, "%v | %+v | %#v\n", err, err, err)
		if te, ok := err.(*tollgate.Error); ok {
			fmt.Fprintf(&b, "%+v\n", *te)
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			if e := u.Unwrap(); e != nil {
				walk(e)
			}
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if e != nil {
					walk(e)
				}
			}
		}
	}
	walk(err)
	return b.String()
}

// observer returns an Observer that feeds the sink through the slog adapter
// (JSON and text, at Debug) and by printing every event, and records the
// kinds of the rejections it saw.
func (s *leakSink) observer(kinds map[error]bool, mu *sync.Mutex) tollgate.Observer {
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	dump := tollgate.Observer{
		OnAccept: func(_ context.Context, e tollgate.AcceptEvent) {
			var claims map[string]any
			_ = e.Principal.Claims(&claims)
			s.printf("accept %+v %+v claims=%v", e, *e.Principal, claims)
		},
		OnReject: func(_ context.Context, e tollgate.RejectEvent) {
			s.printf("reject %+v %s", e, errText(e.Err))
			mu.Lock()
			defer mu.Unlock()
			kinds[e.Err.Kind] = true
		},
		OnKeyFetch:        func(_ context.Context, e tollgate.KeyFetchEvent) { s.printf("fetch %+v", e) },
		OnKeyFetchFailure: func(_ context.Context, e tollgate.KeyFetchEvent) { s.printf("fetch failure %+v %s", e, errText(e.Err)) },
		OnKeySkipped:      func(_ context.Context, e tollgate.KeySkippedEvent) { s.printf("skipped %+v", e) },
		OnIntrospect:      func(_ context.Context, e tollgate.IntrospectEvent) { s.printf("introspect %+v", e) },
		OnIntrospectFailure: func(_ context.Context, e tollgate.IntrospectEvent) {
			s.printf("introspect failure %+v %s", e, errText(e.Err))
		},
		OnCacheHit:  func(_ context.Context, e tollgate.CacheEvent) { s.printf("hit %+v", e) },
		OnCacheMiss: func(_ context.Context, e tollgate.CacheEvent) { s.printf("miss %+v", e) },
	}
	return tollgate.JoinObservers(
		tollgate.NewLogObserver(slog.New(slog.NewJSONHandler(s, opts))),
		tollgate.NewLogObserver(slog.New(slog.NewTextHandler(s, opts))),
		dump,
	)
}

// assertNoSecret fails if any secret, or any 12-byte piece of one, appears
// in out.
func assertNoSecret(t *testing.T, out string, secrets map[string]string) {
	t.Helper()
	const piece = 12
	for name, secret := range secrets {
		for i := 0; i+piece <= len(secret); i++ {
			if j := strings.Index(out, secret[i:i+piece]); j >= 0 {
				lo, hi := max(0, j-80), min(len(out), j+80)
				t.Errorf("%s leaked (bytes %d..%d of it): ...%s...", name, i, i+piece, out[lo:hi])
				break
			}
		}
	}
}

// hs256 signs claims with HS256 and secret, as an HMAC issuer would.
func hs256(secret []byte, claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"at+jwt"}`))
	c, _ := json.Marshal(claims)
	input := h + "." + base64.RawURLEncoding.EncodeToString(c)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// TestNoTokenOrSecretLeaks runs every failure class - no token, invalid
// request, invalid token (each check), expired, insufficient scope,
// unavailable (keys down, hanging, request cancelled; introspection refusing
// our credentials, failing, hanging, answering garbage) - and the success
// paths through the middleware, the hybrid router, the JWT validator with its
// cache and a JWK Set, and the introspection client with its cache, and
// asserts that none of the tokens sent, the introspection client secret (raw
// or in its Basic header), the HMAC secret of a symmetric issuer, the
// password in the JWK Set URL or the private key a careless server published
// appears in any log record (slog adapter, JSON and text), any Observer
// event, any error string, or any answer's status, headers or body.
func TestNoTokenOrSecretLeaks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sink leakSink
		kinds := map[error]bool{}
		var kindsMu sync.Mutex
		obs := sink.observer(kinds, &kindsMu)

		const clientSecret = "cs-Zk81qW7pLm3vN9xT2bR5yH"
		as := oauthtest.New(oauthtest.Config{InMemory: true, Algorithm: "ES256",
			Clients: []oauthtest.Client{{ID: "orders-api", Secret: clientSecret}}})
		defer as.Close()
		const jwksPassword = "jwks-password-Xq7v2LmP9s"
		hmacSecret := []byte("hmac-secret-for-the-symmetric-issuer-0123456789")
		const hmacIssuer = "https://hmac.example"

		// The JWK Set also carries a private key, which must be skipped
		// without its private part being quoted.
		leaked := oauthtest.NewKey("ES256")
		priv, err := jwk.FromRaw(leaked.Private())
		if err != nil {
			t.Fatal(err)
		}
		_ = priv.Set(jwk.KeyIDKey, "leaked")
		privJSON, _ := json.Marshal(priv)
		var privMembers struct{ D string }
		_ = json.Unmarshal(privJSON, &privMembers)
		set, _ := json.Marshal(map[string]any{"keys": []json.RawMessage{as.SigningKey().PublicJWK(false), privJSON}})
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Body: string(set)})

		keys, err := jwks.New(jwks.Config{
			URL:        strings.Replace(as.JWKSURL(), "://", "://rs:"+jwksPassword+"@", 1),
			HTTPClient: as.Client(),
			Observer:   obs,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer keys.Close()
		v, err := validator.New(validator.Config{
			Issuers: []validator.Issuer{
				{Issuer: as.Issuer(), Audiences: []string{as.Audience()}, Keys: keys},
				{Issuer: hmacIssuer, Audiences: []string{"api"}, HMACSecret: hmacSecret},
			},
			Observer: obs,
			Logger:   slog.New(slog.NewTextHandler(&sink, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		ic, err := introspect.New(introspect.Config{
			Endpoint:     as.IntrospectionURL(),
			ClientID:     "orders-api",
			ClientSecret: clientSecret,
			Audiences:    []string{as.Audience()},
			HTTPClient:   as.Client(),
			Observer:     obs,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer ic.Close()
		hv, err := tollgate.NewHybrid(tollgate.HybridConfig{JWT: v, JWTIssuers: []string{as.Issuer(), hmacIssuer}, Introspection: ic})
		if err != nil {
			t.Fatal(err)
		}
		mw, err := middleware.New(hv, middleware.Config{Realm: "api", Observer: obs})
		if err != nil {
			t.Fatal(err)
		}
		handler := mw.Handler(middleware.RequireScopes("read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("ok"))
		})))

		now := time.Now()
		good := as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"read"}})
		hmacClaims := func(mod map[string]any) map[string]any {
			c := map[string]any{"iss": hmacIssuer, "aud": "api", "sub": "bob", "scope": "read", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
			for k, v := range mod {
				c[k] = v
			}
			return c
		}
		basic := base64.StdEncoding.EncodeToString([]byte("client:" + string(hmacSecret)))

		type row struct {
			name    string
			auth    []string // Authorization headers
			query   string
			cancel  bool               // the request's context is already cancelled
			before  func()             // runs first, inside the bubble
			intro   *oauthtest.Failure // how the introspection endpoint fails
			wait    time.Duration      // the clock moves on this much first
			status  int
			reached error // the kind of the rejection, nil for a 200
		}
		tok := func(o oauthtest.TokenOptions) string {
			if o.Scopes == nil {
				o.Scopes = []string{"read"}
			}
			return as.JWT(o)
		}
		opaque := func(o oauthtest.TokenOptions) string {
			if o.Scopes == nil {
				o.Scopes = []string{"read"}
			}
			return as.Opaque(o)
		}
		reused := opaque(oauthtest.TokenOptions{Subject: "erin"})
		revoked := opaque(oauthtest.TokenOptions{})
		as.Revoke(revoked)
		forged := good[:len(good)-8] + "AAAAAAAA"
		unknownKID := tok(oauthtest.TokenOptions{Key: oauthtest.NewKey("ES256")})
		rotatedKID := tok(oauthtest.TokenOptions{Key: oauthtest.NewKey("ES256")})
		rows := []row{
			{name: "accepted", auth: []string{"Bearer " + good}, status: 200},
			{name: "accepted again, from the cache", auth: []string{"Bearer " + good}, status: 200},
			{name: "no credentials", status: 401, reached: tollgate.ErrNoToken},
			{name: "basic credentials with the secret", auth: []string{"Basic " + basic}, status: 401, reached: tollgate.ErrNoToken},
			{name: "token and junk", auth: []string{"Bearer " + good + " junk"}, status: 400, reached: tollgate.ErrInvalidRequest},
			{name: "two headers", auth: []string{"Bearer " + good, "Bearer " + good}, status: 400, reached: tollgate.ErrInvalidRequest},
			{name: "header and query", auth: []string{"Bearer " + good}, query: "access_token=" + url.QueryEscape(good), status: 400, reached: tollgate.ErrInvalidRequest},
			{name: "bad signature", auth: []string{"Bearer " + forged}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "trailing segment", auth: []string{"Bearer " + good + ".e30"}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "too large", auth: []string{"Bearer " + good + strings.Repeat("A", validator.DefaultMaxTokenBytes)}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "alg none", auth: []string{"Bearer " + base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + good[strings.IndexByte(good, '.'):]}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "wrong audience", auth: []string{"Bearer " + tok(oauthtest.TokenOptions{Audience: []string{"other"}})}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "foreign issuer", auth: []string{"Bearer " + tok(oauthtest.TokenOptions{Claims: map[string]any{"iss": "https://evil.example"}})}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "untyped", auth: []string{"Bearer " + tok(oauthtest.TokenOptions{Header: map[string]any{"typ": nil}})}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "embedded jwk", auth: []string{"Bearer " + tok(oauthtest.TokenOptions{Header: map[string]any{"jwk": json.RawMessage(as.SigningKey().PublicJWK(false))}})}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "unknown kid", auth: []string{"Bearer " + unknownKID}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "expired", auth: []string{"Bearer " + tok(oauthtest.TokenOptions{Lifetime: -time.Hour})}, status: 401, reached: tollgate.ErrExpired},
			{name: "not yet valid", auth: []string{"Bearer " + tok(oauthtest.TokenOptions{Claims: map[string]any{"nbf": now.Add(time.Hour).Unix()}})}, status: 401, reached: tollgate.ErrExpired},
			{name: "insufficient scope", auth: []string{"Bearer " + tok(oauthtest.TokenOptions{Scopes: []string{"write"}})}, status: 403, reached: tollgate.ErrInsufficientScope},
			{name: "HMAC token accepted", auth: []string{"Bearer " + hs256(hmacSecret, hmacClaims(nil))}, status: 200},
			{name: "HMAC token of another audience", auth: []string{"Bearer " + hs256(hmacSecret, hmacClaims(map[string]any{"aud": "other"}))}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "HMAC token signed with another secret", auth: []string{"Bearer " + hs256([]byte("another-secret-another-secret-another"), hmacClaims(nil))}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "request already cancelled", auth: []string{"Bearer " + tok(oauthtest.TokenOptions{Subject: "carol"})}, cancel: true, status: 503, reached: tollgate.ErrUnavailable},
			{name: "key set answers 401", wait: jwks.DefaultMinRefetchInterval, before: func() {
				as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusUnauthorized, Body: `{"error":"invalid_client","error_description":"` + jwksPassword + `"}`})
			}, auth: []string{"Bearer " + rotatedKID}, status: 503, reached: tollgate.ErrUnavailable},
			{name: "key set hangs", wait: jwks.DefaultMinRefetchInterval, before: func() {
				as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Hang: true})
			}, auth: []string{"Bearer " + rotatedKID}, status: 503, reached: tollgate.ErrUnavailable},
			{name: "opaque token accepted", auth: []string{"Bearer " + opaque(oauthtest.TokenOptions{Subject: "dave"})}, status: 200},
			{name: "opaque token accepted again, from the cache", auth: []string{"Bearer " + reused}, status: 200},
			{name: "opaque token unknown", auth: []string{"Bearer opaque-token-the-server-never-issued"}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "opaque token revoked", auth: []string{"Bearer " + revoked}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "opaque token of another audience", auth: []string{"Bearer " + opaque(oauthtest.TokenOptions{Audience: []string{"other"}})}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "opaque token expired", auth: []string{"Bearer " + opaque(oauthtest.TokenOptions{Lifetime: -time.Minute})}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "JWT of a foreign issuer, introspected", auth: []string{"Bearer " + tok(oauthtest.TokenOptions{Claims: map[string]any{"iss": "https://other.example"}})}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "introspection refuses our credentials", intro: &oauthtest.Failure{Status: http.StatusUnauthorized,
				Body: `{"error":"invalid_client","error_description":"wrong secret ` + clientSecret + `"}`},
				auth: []string{"Bearer " + opaque(oauthtest.TokenOptions{})}, status: 503, reached: tollgate.ErrUnavailable},
			{name: "introspection fails", intro: &oauthtest.Failure{Status: http.StatusInternalServerError},
				auth: []string{"Bearer " + opaque(oauthtest.TokenOptions{})}, status: 503, reached: tollgate.ErrUnavailable},
			{name: "introspection answers garbage", intro: &oauthtest.Failure{Body: "<html>" + clientSecret + "</html>"},
				auth: []string{"Bearer " + opaque(oauthtest.TokenOptions{})}, status: 503, reached: tollgate.ErrUnavailable},
			{name: "introspection answers active as a string", intro: &oauthtest.Failure{Body: `{"active":"true"}`},
				auth: []string{"Bearer " + opaque(oauthtest.TokenOptions{})}, status: 401, reached: tollgate.ErrInvalidToken},
			{name: "introspection hangs", intro: &oauthtest.Failure{Hang: true},
				auth: []string{"Bearer " + opaque(oauthtest.TokenOptions{})}, status: 503, reached: tollgate.ErrUnavailable},
		}
		var sent []string
		for _, r := range rows {
			if r.wait > 0 {
				time.Sleep(r.wait)
				synctest.Wait()
			}
			as.Heal(oauthtest.EndpointIntrospection)
			if r.intro != nil {
				as.Fail(oauthtest.EndpointIntrospection, *r.intro)
			}
			if r.before != nil {
				r.before()
			}
			req := httptest.NewRequest(http.MethodGet, "/orders?"+r.query, nil)
			for _, a := range r.auth {
				req.Header.Add("Authorization", a)
				if t, ok := strings.CutPrefix(a, "Bearer "); ok {
					sent = append(sent, t)
				}
			}
			if r.cancel {
				ctx, cancel := context.WithCancel(req.Context())
				cancel()
				req = req.WithContext(ctx)
			}
			kindsMu.Lock()
			clear(kinds)
			kindsMu.Unlock()
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			res := rec.Result()
			sink.printf("answer %s: %s %q %s", r.name, res.Status, res.Header, rec.Body.String())
			if res.StatusCode != r.status {
				t.Errorf("%s: status %d, want %d", r.name, res.StatusCode, r.status)
			}
			kindsMu.Lock()
			if r.reached == nil && len(kinds) != 0 || r.reached != nil && (len(kinds) != 1 || !kinds[r.reached]) {
				t.Errorf("%s: rejections of kinds %v, want %v", r.name, kinds, r.reached)
			}
			kindsMu.Unlock()

			// The same token straight to the validator: its error string.
			for _, a := range r.auth {
				if t, ok := strings.CutPrefix(a, "Bearer "); ok {
					_, err := hv.Validate(req.Context(), t)
					sink.printf("validate %s: %s", r.name, errText(err))
				}
			}
		}

		out := sink.String()
		if !strings.Contains(out, `"msg":"tollgate: rejected"`) || !strings.Contains(out, "msg=\"tollgate: key fetch failed\"") ||
			!strings.Contains(out, "tollgate: key skipped") || !strings.Contains(out, "sub=alice") {
			t.Fatalf("the sink lacks the expected records:\n%s", out)
		}
		secrets := map[string]string{
			"JWK Set password":      jwksPassword,
			"HMAC secret":           string(hmacSecret),
			"HMAC secret in Basic":  basic,
			"published private key": privMembers.D,
			"introspection secret":  clientSecret,
			"introspection Basic":   base64.StdEncoding.EncodeToString([]byte("orders-api:" + clientSecret)),
		}
		for i, tok := range sent {
			secrets[fmt.Sprintf("token %d", i)] = tok
		}
		assertNoSecret(t, out, secrets)
		if t.Failed() {
			t.Logf("sink:\n%s", out)
		}
	})
}

// TestCustomValidatorQuotingTheTokenIsRedacted: a custom validator (or Check)
// whose error quotes the token must not get it into the reject event, the
// log or the answer; a twin error without the token passes through whole.
func TestCustomValidatorQuotingTheTokenIsRedacted(t *testing.T) {
	const token = "opaque-secret-token-1234567890"
	for _, tc := range []struct {
		name   string
		err    error
		quoted bool
	}{
		{"quoting", errors.New("unknown token " + token), true},
		{"twin without the token", errors.New("unknown token"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *tollgate.Error
			var logged bytes.Buffer
			v := tollgate.ValidatorFunc(func(context.Context, string) (*tollgate.Principal, error) { return nil, tc.err })
			mw, err := middleware.New(v, middleware.Config{Observer: tollgate.JoinObservers(
				tollgate.NewLogObserver(slog.New(slog.NewTextHandler(&logged, nil))),
				tollgate.Observer{OnReject: func(_ context.Context, e tollgate.RejectEvent) { got = e.Err }},
			)})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			mw.Handler(http.NotFoundHandler()).ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized || got == nil || !errors.Is(got, tollgate.ErrInvalidToken) {
				t.Fatalf("status %d, event %v", rec.Code, got)
			}
			everything := got.Error() + logged.String() + rec.Body.String() + fmt.Sprint(rec.Header())
			if strings.Contains(everything, token) {
				t.Fatalf("the token leaked: %s", everything)
			}
			if !tc.quoted && !strings.Contains(got.Error(), "unknown token") {
				t.Fatalf("an error without the token lost its text: %v", got)
			}
		})
	}
}
