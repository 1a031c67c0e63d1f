package tollgate_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// counting counts the tokens a validator is given.
type counting struct {
	calls atomic.Int32
	next  tollgate.Validator
}

func (c *counting) Validate(ctx context.Context, token string) (*tollgate.Principal, error) {
	c.calls.Add(1)
	return c.next.Validate(ctx, token)
}

// fakeJWT stands for a JWT validator where only routing matters: it accepts
// the tokens in good and rejects every other one.
func fakeJWT(good ...string) *counting {
	return &counting{next: tollgate.ValidatorFunc(func(_ context.Context, token string) (*tollgate.Principal, error) {
		for _, g := range good {
			if token == g {
				return tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: "jwt-user", Kind: tollgate.KindJWT}), nil
			}
		}
		return nil, &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "signature", Detail: "fake JWT validator"}
	})}
}

// staticKeys is a fixed validator.KeySet holding the server's signing key.
type staticKeys []*jwks.Key

func (s staticKeys) Lookup(_ context.Context, kid string) ([]*jwks.Key, error) {
	for _, k := range s {
		if k.ID() == kid {
			return []*jwks.Key{k}, nil
		}
	}
	return nil, &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "kid", Detail: "no key with this kid"}
}

func (s staticKeys) Keys(context.Context) ([]*jwks.Key, error) { return s, nil }

// jwtValidator returns the real JWT validator for as's issuer, audience and
// current signing key.
func jwtValidator(t testing.TB, as *oauthtest.Server) *validator.Validator {
	t.Helper()
	sk := as.SigningKey()
	k, err := jwks.NewKey(sk.ID(), sk.Algorithm(), sk.Public())
	if err != nil {
		t.Fatal(err)
	}
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{{
		Issuer: as.Issuer(), Audiences: []string{as.Audience()}, Keys: staticKeys{k},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// jwtShaped builds header.payload.sig from a raw JSON payload.
func jwtShaped(payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"ES256","typ":"at+jwt"}`)) + "." + enc.EncodeToString([]byte(payload)) + ".c2ln"
}

func newIntrospection(t *testing.T, as *oauthtest.Server) *introspect.Client {
	t.Helper()
	c, err := introspect.New(introspect.Config{
		Endpoint: as.IntrospectionURL(), Audiences: []string{as.Audience()},
		ClientID: oauthtest.DefaultClientID, ClientSecret: oauthtest.DefaultClientSecret,
		HTTPClient: as.Client(), DisableCache: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestHybridRouting(t *testing.T) {
	as := oauthtest.New(oauthtest.Config{Algorithm: "ES256"})
	defer as.Close()
	iss := as.Issuer()
	escapedIss := strings.ReplaceAll(iss, "/", `\/`)
	goodJWT := as.JWT(oauthtest.TokenOptions{})
	opaque := as.Opaque(oauthtest.TokenOptions{})
	enc := base64.RawURLEncoding
	for _, tc := range []struct {
		name    string
		token   string
		toJWT   bool  // routed to the JWT validator (else to introspection)
		kind    error // nil: accepted
		check   string
		neither bool // rejected before either validator
	}{
		{"JWT of a configured issuer", goodJWT, true, nil, "", false},
		{"failing JWT of a configured issuer", as.JWT(oauthtest.TokenOptions{Audience: []string{"https://other.example"}}), true, tollgate.ErrInvalidToken, "aud", false},
		{"JWT of a foreign key", as.JWT(oauthtest.TokenOptions{Key: oauthtest.NewKey("ES256")}), true, tollgate.ErrInvalidToken, "kid", false},
		{"unsecured JWT", strings.TrimSuffix(jwtShaped(`{"iss":"`+iss+`"}`), "c2ln"), true, tollgate.ErrInvalidToken, "signature", false},
		{"escaped slashes in iss", jwtShaped(`{"sub":"a","iss":"` + escapedIss + `"}`), true, tollgate.ErrInvalidToken, "signature", false},
		{"escaped member name", jwtShaped(`{"\u0069ss":"` + iss + `"}`), true, tollgate.ErrInvalidToken, "signature", false},
		{"other iss first", jwtShaped(`{"iss":"https://evil.example","iss":"` + iss + `"}`), true, tollgate.ErrInvalidToken, "claims", false},
		{"configured iss first", jwtShaped(`{"iss":"` + iss + `","iss":"https://evil.example"}`), true, tollgate.ErrInvalidToken, "claims", false},
		{"iss after nested values", jwtShaped(`{"a":{"b":[1,"}",{"iss":"x"}]},"c":"\"","iss":"` + iss + `"}`), true, tollgate.ErrInvalidToken, "signature", false},
		{"malformed after iss", jwtShaped(`{"iss":"` + iss + `",`), true, tollgate.ErrInvalidToken, "claims", false},
		{"padded payload", strings.Replace(jwtShaped(`{"iss":"`+iss+`"}x`), ".c2ln", "", 1) + "==.c2ln", true, tollgate.ErrInvalidToken, "format", false},
		{"standard alphabet", "eyJhbGciOiJFUzI1NiJ9." + base64.RawStdEncoding.EncodeToString([]byte(`{"iss":"`+iss+`","x":"??>>"}`)) + ".c2ln", true, tollgate.ErrInvalidToken, "format", false},
		{"opaque token", opaque, false, nil, "", false},
		{"JWT of another issuer", as.JWT(oauthtest.TokenOptions{Claims: map[string]any{"iss": "https://other-as.example"}}), false, tollgate.ErrInvalidToken, "active", false},
		{"issuer with a trailing slash", jwtShaped(`{"iss":"` + iss + `/"}`), false, tollgate.ErrInvalidToken, "active", false},
		{"iss in another case", jwtShaped(`{"ISS":"` + iss + `"}`), false, tollgate.ErrInvalidToken, "active", false},
		{"iss nested only", jwtShaped(`{"x":{"iss":"` + iss + `"}}`), false, tollgate.ErrInvalidToken, "active", false},
		{"iss not a string", jwtShaped(`{"iss":["` + iss + `"]}`), false, tollgate.ErrInvalidToken, "active", false},
		{"payload not JSON", "eyJhbGciOiJFUzI1NiJ9." + enc.EncodeToString([]byte(iss)) + ".c2ln", false, tollgate.ErrInvalidToken, "active", false},
		{"payload not base64", "eyJhbGciOiJFUzI1NiJ9.%%%.c2ln", false, tollgate.ErrInvalidToken, "active", false},
		{"two segments", "abc.def", false, tollgate.ErrInvalidToken, "active", false},
		{"five segments (JWE)", "a.b.c.d.e", false, tollgate.ErrInvalidToken, "active", false},
		{"empty header", "." + enc.EncodeToString([]byte(`{"iss":"`+iss+`"}`)) + ".c2ln", false, tollgate.ErrInvalidToken, "active", false},
		{"oversized JWT", jwtShaped(`{"iss":"` + iss + `","x":"` + strings.Repeat("a", tollgate.DefaultHybridMaxTokenBytes) + `"}`), false, tollgate.ErrInvalidToken, "size", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jwt := &counting{next: jwtValidator(t, as)}
			intro := &counting{next: newIntrospection(t, as)}
			h, err := tollgate.NewHybrid(tollgate.HybridConfig{JWT: jwt, JWTIssuers: []string{"https://unrelated.example", iss}, Introspection: intro})
			if err != nil {
				t.Fatal(err)
			}
			before := as.Requests(oauthtest.EndpointIntrospection)
			p, err := h.Validate(context.Background(), tc.token)
			if tc.kind == nil {
				if err != nil || p == nil {
					t.Fatalf("rejected: %v", err)
				}
			} else {
				wantErr(t, err, tc.kind, tc.check)
			}
			wantJWT, wantIntro := int32(0), int32(0)
			switch {
			case tc.neither:
			case tc.toJWT:
				wantJWT = 1
			default:
				wantIntro = 1
			}
			if jwt.calls.Load() != wantJWT || intro.calls.Load() != wantIntro {
				t.Errorf("JWT validator called %d times, introspection %d; want %d, %d", jwt.calls.Load(), intro.calls.Load(), wantJWT, wantIntro)
			}
			if got := int32(as.Requests(oauthtest.EndpointIntrospection) - before); got != wantIntro {
				t.Errorf("the authorization server was asked %d times, want %d", got, wantIntro)
			}
		})
	}
}

func TestHybridModes(t *testing.T) {
	as := oauthtest.New(oauthtest.Config{Algorithm: "ES256"})
	defer as.Close()
	goodJWT := as.JWT(oauthtest.TokenOptions{})
	opaque := as.Opaque(oauthtest.TokenOptions{})
	t.Run("JWT only", func(t *testing.T) {
		jwt := fakeJWT(goodJWT)
		h, err := tollgate.NewHybrid(tollgate.HybridConfig{JWT: jwt})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Validate(context.Background(), goodJWT); err != nil {
			t.Fatal(err)
		}
		_, err = h.Validate(context.Background(), opaque)
		wantErr(t, err, tollgate.ErrInvalidToken, "signature")
		if jwt.calls.Load() != 2 || as.Requests(oauthtest.EndpointIntrospection) != 0 {
			t.Errorf("JWT calls %d, introspection %d", jwt.calls.Load(), as.Requests(oauthtest.EndpointIntrospection))
		}
	})
	t.Run("introspection only", func(t *testing.T) {
		intro := &counting{next: newIntrospection(t, as)}
		h, err := tollgate.NewHybrid(tollgate.HybridConfig{Introspection: intro})
		if err != nil {
			t.Fatal(err)
		}
		if p, err := h.Validate(context.Background(), opaque); err != nil || p.Kind() != tollgate.KindOpaque {
			t.Fatalf("opaque: %v", err)
		}
		// oauthtest introspects only its opaque tokens: a JWT is inactive.
		_, err = h.Validate(context.Background(), goodJWT)
		wantErr(t, err, tollgate.ErrInvalidToken, "active")
		if intro.calls.Load() != 2 {
			t.Errorf("introspection calls %d, want 2", intro.calls.Load())
		}
	})
	for _, tc := range []struct {
		name string
		cfg  tollgate.HybridConfig
	}{
		{"nothing", tollgate.HybridConfig{}},
		{"both without issuers", tollgate.HybridConfig{JWT: fakeJWT(), Introspection: fakeJWT()}},
		{"empty issuer", tollgate.HybridConfig{JWT: fakeJWT(), Introspection: fakeJWT(), JWTIssuers: []string{""}}},
		{"size limit off", tollgate.HybridConfig{JWT: fakeJWT(), MaxTokenBytes: -1}},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			if _, err := tollgate.NewHybrid(tc.cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// wantErr checks that err matches kind and names check.
func wantErr(t *testing.T, err, kind error, check string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v; want %v", err, kind)
	}
	var te *tollgate.Error
	if !errors.As(err, &te) || te.Check != check {
		t.Fatalf("err = %v; want check %q", err, check)
	}
}

// FuzzHybridRoute checks the router's promise on any payload: a JWT whose
// payload is a JSON object with a configured top-level "iss" (as
// encoding/json reads it) always goes to the JWT validator, never to
// introspection; and nothing panics.
func FuzzHybridRoute(f *testing.F) {
	const iss = "https://as.example"
	for _, s := range []string{
		`{"iss":"https://as.example"}`,
		`{"iss":"https:\/\/as.example","sub":"a"}`,
		`{"\u0069ss":"https://as.example"}`,
		`{"a":[{"iss":1}],"iss":"x","iss":"https://as.example"}`,
		` { "iss" : "https://as.example" } `,
		`{"a":"\"}","iss":"https://as.example"}`,
		`{"iss":null}`, `[]`, `{`, `"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var toJWT, toIntro int
		jwt := tollgate.ValidatorFunc(func(context.Context, string) (*tollgate.Principal, error) {
			toJWT++
			return nil, tollgate.ErrInvalidToken
		})
		intro := tollgate.ValidatorFunc(func(context.Context, string) (*tollgate.Principal, error) {
			toIntro++
			return nil, tollgate.ErrInvalidToken
		})
		h, err := tollgate.NewHybrid(tollgate.HybridConfig{JWT: jwt, JWTIssuers: []string{iss}, Introspection: intro})
		if err != nil {
			t.Fatal(err)
		}
		token := "eyJhbGciOiJFUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(payload) + ".c2ln"
		_, _ = h.Validate(context.Background(), token)
		if toJWT+toIntro != 1 && len(token) <= tollgate.DefaultHybridMaxTokenBytes {
			t.Fatalf("routed to %d validators", toJWT+toIntro)
		}
		var m map[string]any
		if json.Unmarshal(payload, &m) == nil && m["iss"] == iss && len(token) <= tollgate.DefaultHybridMaxTokenBytes && toJWT != 1 {
			t.Fatalf("a JWT of a configured issuer went to introspection: %q", payload)
		}
	})
}

// BenchmarkHybridRoute measures what routing adds in front of the
// validators, which here answer at once: the JWT case decodes the payload
// and finds "iss"; the opaque case only looks for dots.
func BenchmarkHybridRoute(b *testing.B) {
	as := oauthtest.New(oauthtest.Config{Algorithm: "ES256"})
	defer as.Close()
	p := tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: "s"})
	done := tollgate.ValidatorFunc(func(context.Context, string) (*tollgate.Principal, error) { return p, nil })
	h, err := tollgate.NewHybrid(tollgate.HybridConfig{JWT: done, JWTIssuers: []string{"https://a.example", as.Issuer()}, Introspection: done})
	if err != nil {
		b.Fatal(err)
	}
	jwt := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read", "orders:write"}})
	for _, bc := range []struct{ name, token string }{
		{"direct", ""},
		{"jwt", jwt},
		{"opaque", as.Opaque(oauthtest.TokenOptions{})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var v tollgate.Validator = h
			token := bc.token
			if bc.name == "direct" {
				v, token = done, jwt
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Validate(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func ExampleNewHybrid() {
	as := oauthtest.NewServer()
	defer as.Close()

	opaque, err := introspect.New(introspect.Config{
		Issuer:       as.Issuer(),
		Audiences:    []string{as.Audience()},
		ClientID:     oauthtest.DefaultClientID,
		ClientSecret: oauthtest.DefaultClientSecret,
		HTTPClient:   as.Client(),
	})
	if err != nil {
		panic(err)
	}
	defer opaque.Close()

	// The JWT validator for the same issuer (its keys would usually be a
	// *jwks.Set; a fixed set keeps the example short).
	sk := as.SigningKey()
	key, err := jwks.NewKey(sk.ID(), sk.Algorithm(), sk.Public())
	if err != nil {
		panic(err)
	}
	jwts, err := validator.New(validator.Config{Issuers: []validator.Issuer{{
		Issuer: as.Issuer(), Audiences: []string{as.Audience()}, Keys: staticKeys{key},
	}}})
	if err != nil {
		panic(err)
	}

	h, err := tollgate.NewHybrid(tollgate.HybridConfig{
		JWT:           jwts,
		JWTIssuers:    []string{as.Issuer()},
		Introspection: opaque,
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	p, err := h.Validate(ctx, as.Opaque(oauthtest.TokenOptions{Subject: "alice"}))
	fmt.Println(p.Subject(), p.Kind(), err)

	p, err = h.Validate(ctx, as.JWT(oauthtest.TokenOptions{Subject: "bob"}))
	fmt.Println(p.Subject(), p.Kind(), err)

	// A JWT of a configured issuer that fails locally is not introspected.
	_, err = h.Validate(ctx, as.JWT(oauthtest.TokenOptions{Audience: []string{"https://other.example"}}))
	fmt.Println(err)
	fmt.Println("introspection calls:", as.Requests(oauthtest.EndpointIntrospection))
	// Output:
	// alice opaque <nil>
	// bob jwt <nil>
	// tollgate: invalid token (aud): audience not accepted
	// introspection calls: 1
}

// TestHybridReadsIssuersFromTheJWTValidator: without JWTIssuers, the issuers
// come from the JWT validator itself, so the two lists cannot drift apart.
func TestHybridReadsIssuersFromTheJWTValidator(t *testing.T) {
	as := oauthtest.NewServer()
	defer as.Close()
	jwt := jwtValidator(t, as)
	intro := &counting{next: newIntrospection(t, as)}
	h, err := tollgate.NewHybrid(tollgate.HybridConfig{JWT: jwt, Introspection: intro})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = h.Validate(ctx, as.JWT(oauthtest.TokenOptions{Audience: []string{"https://other.example"}}))
	wantErr(t, err, tollgate.ErrInvalidToken, "aud")
	if n := intro.calls.Load(); n != 0 {
		t.Fatalf("a failing JWT of the validator's issuer was introspected (%d calls)", n)
	}
	if p, err := h.Validate(ctx, as.Opaque(oauthtest.TokenOptions{Subject: "svc"})); err != nil || p.Subject() != "svc" || intro.calls.Load() != 1 {
		t.Fatalf("opaque token: %v, %v, %d calls", p, err, intro.calls.Load())
	}
}
