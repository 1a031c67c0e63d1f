package validator_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

var _ tollgate.Validator = (*validator.Validator)(nil)

func TestNewRejectsBadConfig(t *testing.T) {
	rsaKey := publicKey(t, oauthtest.NewKey("ES256"), false)
	keys := newStaticKeys(rsaKey)
	secret := bytes.Repeat([]byte("s"), 32)
	good := validator.Issuer{Issuer: "https://as.example", Audiences: []string{"api"}, Keys: keys}
	with := func(mod func(*validator.Issuer)) []validator.Issuer {
		is := good
		mod(&is)
		return []validator.Issuer{is}
	}
	cases := []struct {
		name string
		cfg  validator.Config
		want string
	}{
		{"no issuer", validator.Config{}, "no issuer"},
		{"empty issuer", validator.Config{Issuers: with(func(is *validator.Issuer) { is.Issuer = "" })}, "empty Issuer"},
		{"no audience", validator.Config{Issuers: with(func(is *validator.Issuer) { is.Audiences = nil })}, "no audience"},
		{"empty audience", validator.Config{Issuers: with(func(is *validator.Issuer) { is.Audiences = []string{"api", ""} })}, "empty audience"},
		{"JWKS URL with Keys", validator.Config{Issuers: with(func(is *validator.Issuer) { is.JWKSURL = "https://as.example/jwks" })}, "JWKSURL or InsecureAllowHTTP set with Keys"},
		{"insecure HTTP with an HMAC secret", validator.Config{Issuers: with(func(is *validator.Issuer) { is.Keys, is.HMACSecret, is.InsecureAllowHTTP = nil, secret, true })}, "JWKSURL or InsecureAllowHTTP set with an HMACSecret"},
		{"discovery from a plain http issuer", validator.Config{Issuers: with(func(is *validator.Issuer) { is.Keys, is.Issuer = nil, "http://as.example" })}, "https"},
		{"keys and HMAC secret", validator.Config{Issuers: with(func(is *validator.Issuer) { is.HMACSecret = secret })}, "both Keys and HMACSecret"},
		{"empty HMAC secret", validator.Config{Issuers: with(func(is *validator.Issuer) { is.Keys, is.HMACSecret = nil, []byte{} })}, "empty HMACSecret"},
		{"HMAC secret shorter than HS256", validator.Config{Issuers: with(func(is *validator.Issuer) { is.Keys, is.HMACSecret = nil, secret[:31] })}, "shorter than the 32-byte output of HS256"},
		{"HMAC secret shorter than HS512", validator.Config{Issuers: with(func(is *validator.Issuer) {
			is.Keys, is.HMACSecret, is.Algorithms = nil, bytes.Repeat([]byte("s"), 63), []string{"HS256", "HS512"}
		})}, "shorter than the 64-byte output of HS512"},
		{"alg none", validator.Config{Issuers: with(func(is *validator.Issuer) { is.Algorithms = []string{"none"} })}, `unknown algorithm "none"`},
		{"alg None", validator.Config{Issuers: with(func(is *validator.Issuer) { is.Algorithms = []string{"RS256", "None"} })}, `unknown algorithm "None"`},
		{"unknown alg", validator.Config{Issuers: with(func(is *validator.Issuer) { is.Algorithms = []string{"ES256K"} })}, `unknown algorithm "ES256K"`},
		{"lower-case alg", validator.Config{Issuers: with(func(is *validator.Issuer) { is.Algorithms = []string{"rs256"} })}, `unknown algorithm "rs256"`},
		{"HMAC alg with keys", validator.Config{Issuers: with(func(is *validator.Issuer) { is.Algorithms = []string{"RS256", "HS256"} })}, "HS256 needs an HMACSecret"},
		{"asymmetric alg with a secret", validator.Config{Issuers: with(func(is *validator.Issuer) {
			is.Keys, is.HMACSecret, is.Algorithms = nil, secret, []string{"RS256"}
		})}, "RS256 needs Keys"},
		{"empty allowlist", validator.Config{Issuers: with(func(is *validator.Issuer) { is.Algorithms = []string{} })}, "empty Algorithms"},
		{"issuer twice", validator.Config{Issuers: []validator.Issuer{good, good}}, "configured twice"},
		{"negative size limit", validator.Config{Issuers: []validator.Issuer{good}, MaxTokenBytes: -1}, "negative MaxTokenBytes"},
		{"huge size limit", validator.Config{Issuers: []validator.Issuer{good}, MaxTokenBytes: 1<<20 + 1}, "MaxTokenBytes above 1 MiB"},
		{"empty required claim", validator.Config{Issuers: with(func(is *validator.Issuer) { is.RequiredClaims = []string{"jti", ""} })}, "empty name in RequiredClaims"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := validator.New(c.cfg)
			if err == nil {
				t.Fatalf("New accepted the config")
			}
			if v != nil {
				t.Errorf("New returned a validator with an error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
	t.Run("passing twin", func(t *testing.T) {
		v, err := validator.New(validator.Config{Issuers: []validator.Issuer{good}})
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

func TestInsecureOptionIsLogged(t *testing.T) {
	var buf bytes.Buffer
	is := validator.Issuer{Issuer: "https://as.example", Audiences: []string{"api"},
		Keys: newStaticKeys(publicKey(t, oauthtest.NewKey("EdDSA"), false)), InsecureAllowUntyped: true}
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{is}, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if !strings.Contains(buf.String(), "InsecureAllowUntyped") || !strings.Contains(buf.String(), "https://as.example") {
		t.Errorf("no warning logged: %q", buf.String())
	}
}

// TestPrincipal checks every field of the principal of a valid token, for
// each algorithm oauthtest mints.
func TestPrincipal(t *testing.T) {
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, alg)
			tok := f.as.JWT(oauthtest.TokenOptions{
				Subject:  "alice",
				ClientID: "app-1",
				Scopes:   []string{"read", "write", "read"},
				Audience: []string{"https://other.example", f.as.Audience()},
				Claims:   map[string]any{"jti": "t-1", "tenant": "acme"},
			})
			p, err := f.validate(tok)
			wantAccept(t, p, err)
			if p.Subject() != "alice" || p.ClientID() != "app-1" || p.Issuer() != f.as.Issuer() || p.TokenID() != "t-1" {
				t.Errorf("principal = %q %q %q %q", p.Subject(), p.ClientID(), p.Issuer(), p.TokenID())
			}
			if got := p.Audiences(); !slices.Equal(got, []string{"https://other.example", f.as.Audience()}) {
				t.Errorf("Audiences = %q", got)
			}
			if got := p.Scopes().Strings(); !slices.Equal(got, []string{"read", "write"}) {
				t.Errorf("Scopes = %q", got)
			}
			if !p.ExpiresAt().Equal(t0.Add(time.Hour)) || !p.IssuedAt().Equal(t0) {
				t.Errorf("ExpiresAt %v, IssuedAt %v", p.ExpiresAt(), p.IssuedAt())
			}
			if p.Kind() != tollgate.KindJWT || !p.Confirmation().IsZero() {
				t.Errorf("Kind %v, Confirmation %+v", p.Kind(), p.Confirmation())
			}
			var c struct {
				Tenant string `json:"tenant"`
			}
			if err := p.Claims(&c); err != nil || c.Tenant != "acme" {
				t.Errorf("Claims: %v, tenant %q", err, c.Tenant)
			}
		})
	}
}

func TestScopes(t *testing.T) {
	cases := []struct {
		name   string
		claim  string // ScopeClaim
		claims map[string]string
		want   []string
	}{
		{"scope string", "", map[string]string{"scope": `"a b  c"`}, []string{"a", "b", "c"}},
		{"scp array", "", map[string]string{"scp": `["a","b"]`}, []string{"a", "b"}},
		{"scp string (Azure)", "", map[string]string{"scp": `"a b"`}, []string{"a", "b"}},
		{"scope wins over scp", "", map[string]string{"scope": `"a"`, "scp": `["b"]`}, []string{"a"}},
		{"no scopes", "", map[string]string{}, nil},
		{"configured claim, array", "permissions", map[string]string{"scope": `"a"`, "permissions": `["read:x","write:x"]`}, []string{"read:x", "write:x"}},
		{"configured claim, string", "scp", map[string]string{"scope": `"a"`, "scp": `"b c"`}, []string{"b", "c"}},
		{"configured claim absent", "roles", map[string]string{"scope": `"a"`}, nil},
		{"escaped scope", "", map[string]string{"scope": `"a\u0020b"`}, []string{"a", "b"}},
	}
	as := oauthtest.New(oauthtest.Config{Now: func() time.Time { return t0 }})
	defer as.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixtureOn(t, as, func(_ *fixture, is *validator.Issuer) { is.ScopeClaim = c.claim })
			cl := f.claims().del("scope")
			for k, v := range c.claims {
				cl = cl.set(k, v)
			}
			p, err := f.validate(f.sign(t, f.header(), cl))
			wantAccept(t, p, err)
			if got := p.Scopes().Strings(); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Errorf("Scopes = %q, want %q", got, c.want)
			}
		})
	}
	t.Run("configured claim of the wrong type", func(t *testing.T) {
		f := newFixtureOn(t, as, func(_ *fixture, is *validator.Issuer) { is.ScopeClaim = "permissions" })
		_, err := f.validate(f.sign(t, f.header(), f.claims().set("permissions", `{"read":true}`)))
		wantReject(t, err, tollgate.ErrInvalidToken, "claims")
		p, err := f.validate(f.sign(t, f.header(), f.claims().set("permissions", `["read"]`)))
		wantAccept(t, p, err)
	})
}

func TestClientIDFallsBackToAzp(t *testing.T) {
	f := newFixture(t, "ES256")
	p, err := f.validate(f.sign(t, f.header(), f.claims().del("client_id").set("azp", q("spa"))))
	wantAccept(t, p, err)
	if p.ClientID() != "spa" {
		t.Errorf("ClientID = %q, want the azp", p.ClientID())
	}
	p, err = f.validate(f.sign(t, f.header(), f.claims().set("azp", q("spa"))))
	wantAccept(t, p, err)
	if p.ClientID() != "client-app" {
		t.Errorf("ClientID = %q, want client_id over azp", p.ClientID())
	}
}

// TestSeveralIssuers trusts two authorization servers, each with its own
// keys, audience and algorithms: each one's tokens validate, and a token
// naming one issuer but signed by the other's key does not.
func TestSeveralIssuers(t *testing.T) {
	a := oauthtest.New(oauthtest.Config{Algorithm: "RS256", Audience: "https://a.api", Now: func() time.Time { return t0 }})
	defer a.Close()
	b := oauthtest.New(oauthtest.Config{Algorithm: "EdDSA", Audience: "https://b.api", IssuerPath: "/tenant-b", Now: func() time.Time { return t0 }})
	defer b.Close()
	v, err := validator.New(validator.Config{
		Now: func() time.Time { return t0 },
		Issuers: []validator.Issuer{
			{Issuer: a.Issuer(), Audiences: []string{"https://a.api"}, Keys: serverKeys(t, a), Algorithms: []string{"RS256"}},
			{Issuer: b.Issuer(), Audiences: []string{"https://b.api"}, Keys: serverKeys(t, b), Algorithms: []string{"EdDSA"},
				ScopeClaim: "scp"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	for _, as := range []*oauthtest.Server{a, b} {
		p, err := v.Validate(ctx, as.JWT(oauthtest.TokenOptions{}))
		wantAccept(t, p, err)
		if p.Issuer() != as.Issuer() {
			t.Errorf("Issuer = %q, want %q", p.Issuer(), as.Issuer())
		}
	}
	// A's token claiming to be from B: B's keys do not have A's kid.
	_, err = v.Validate(ctx, a.JWT(oauthtest.TokenOptions{Claims: map[string]any{"iss": b.Issuer()}, Audience: []string{"https://b.api"}}))
	wantReject(t, err, tollgate.ErrInvalidToken, "alg")
	// A's key under B's kid, EdDSA header: the signature fails.
	forged := signWith(t, oauthtest.NewKey("EdDSA").WithID(b.SigningKey().ID()), "EdDSA",
		`{"alg":"EdDSA","kid":"`+b.SigningKey().ID()+`","typ":"at+jwt"}`,
		`{"iss":"`+b.Issuer()+`","sub":"x","aud":"https://b.api","exp":`+num(t0.Add(time.Hour))+`}`)
	_, err = v.Validate(ctx, forged)
	wantReject(t, err, tollgate.ErrInvalidToken, "signature")
	// B's audience is not A's.
	_, err = v.Validate(ctx, a.JWT(oauthtest.TokenOptions{Audience: []string{"https://b.api"}}))
	wantReject(t, err, tollgate.ErrInvalidToken, "aud")
}

// TestHMACIssuer covers the symmetric issuer: HS256 with a configured secret
// verifies, and nothing else does.
func TestHMACIssuer(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	v, err := validator.New(validator.Config{
		Now:     func() time.Time { return t0 },
		Issuers: []validator.Issuer{{Issuer: "https://legacy.example", Audiences: []string{"api"}, HMACSecret: secret}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	claims := `{"iss":"https://legacy.example","sub":"s","aud":"api","exp":` + num(t0.Add(time.Hour)) + `}`
	mint := func(alg string, key []byte) string {
		input := b64(`{"alg":"`+alg+`","typ":"at+jwt"}`) + "." + b64(claims)
		return input + "." + base64.RawURLEncoding.EncodeToString(hmacSign(alg, key, []byte(input)))
	}
	p, err := v.Validate(context.Background(), mint("HS256", secret))
	wantAccept(t, p, err)
	_, err = v.Validate(context.Background(), mint("HS256", []byte("0123456789abcdef0123456789abcdeX")))
	wantReject(t, err, tollgate.ErrInvalidToken, "signature")
	_, err = v.Validate(context.Background(), mint("HS384", secret))
	wantReject(t, err, tollgate.ErrInvalidToken, "alg")
	rs := signWith(t, oauthtest.NewKey("RS256"), "RS256", `{"alg":"RS256","typ":"at+jwt"}`, claims)
	_, err = v.Validate(context.Background(), rs)
	wantReject(t, err, tollgate.ErrInvalidToken, "alg")
}

// failingKeys is a KeySet whose lookups fail.
type failingKeys struct{ err error }

func (k failingKeys) Lookup(context.Context, string) ([]*jwks.Key, error) { return nil, k.err }
func (k failingKeys) Keys(context.Context) ([]*jwks.Key, error)           { return nil, k.err }

// TestKeySetErrors checks how key set failures are reported: a kid unknown
// after a refetch is an invalid token, keys that cannot be had are
// ErrUnavailable, and an unclassified error fails closed as ErrUnavailable.
func TestKeySetErrors(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		kind  error
		check string
	}{
		{"unknown kid", &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "kid"}, tollgate.ErrInvalidToken, "kid"},
		{"keys never loaded", &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "jwks"}, tollgate.ErrUnavailable, "jwks"},
		{"bare sentinel", tollgate.ErrUnavailable, tollgate.ErrUnavailable, "jwks"},
		{"bare invalid sentinel", tollgate.ErrInvalidToken, tollgate.ErrInvalidToken, "kid"},
		{"context ended", context.DeadlineExceeded, tollgate.ErrUnavailable, "jwks"},
		{"unclassified", errors.New("disk on fire"), tollgate.ErrUnavailable, "jwks"},
	}
	as := oauthtest.New(oauthtest.Config{Now: func() time.Time { return t0 }})
	defer as.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixtureOn(t, as, func(_ *fixture, is *validator.Issuer) { is.Keys = failingKeys{c.err} })
			for _, h := range []members{f.header(), f.header().del("kid")} {
				_, err := f.validate(f.sign(t, h, f.claims()))
				wantReject(t, err, c.kind, c.check)
			}
		})
	}
	t.Run("passing twin", func(t *testing.T) {
		f := newFixtureOn(t, as)
		p, err := f.validate(f.token(t))
		wantAccept(t, p, err)
	})
}

// generationKeys reports a generation, as a *jwks.Set does.
type generationKeys struct {
	*staticKeys
	gen uint64
}

func (g *generationKeys) Generation() uint64 { return g.gen }

func TestGeneration(t *testing.T) {
	ks := &generationKeys{staticKeys: newStaticKeys(publicKey(t, oauthtest.NewKey("ES256"), false)), gen: 7}
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{
		{Issuer: "a", Audiences: []string{"api"}, Keys: ks},
		{Issuer: "b", Audiences: []string{"api"}, Keys: newStaticKeys()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	before := v.Generation()
	if before != 7 {
		t.Errorf("Generation = %d, want 7", before)
	}
	ks.gen++
	if v.Generation() == before {
		t.Errorf("Generation did not change when a key set's did")
	}
}

// TestErrorsNeverQuoteTheToken checks that no rejection's message holds the
// token or any of its segments.
func TestErrorsNeverQuoteTheToken(t *testing.T) {
	f := newFixture(t, "RS256")
	long := strings.Repeat("A", 200)
	tokens := []string{
		f.sign(t, f.header().set("alg", q(long)), f.claims()),
		f.sign(t, f.header().set("kid", q(long)), f.claims()),
		f.sign(t, f.header(), f.claims().set("iss", q(long))),
		f.sign(t, f.header(), f.claims().set("iss", q("https://x\n\x1b[31mforged log line"))),
		f.token(t) + "x",
		f.token(t) + ".x.y",
	}
	for _, tok := range tokens {
		_, err := f.validate(tok)
		if err == nil {
			t.Fatal("accepted")
		}
		msg := err.Error()
		for _, seg := range strings.Split(tok, ".") {
			if len(seg) > 8 && strings.Contains(msg, seg) {
				t.Errorf("error %q quotes a token segment", msg)
			}
		}
		if strings.Contains(msg, long) || strings.ContainsAny(msg, "\n\x1b") {
			t.Errorf("error %q quotes a claim unbounded or unescaped", msg)
		}
	}
}
