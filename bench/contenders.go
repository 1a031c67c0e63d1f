package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	auth0jwks "github.com/auth0/go-jwt-middleware/v2/jwks"
	auth0validator "github.com/auth0/go-jwt-middleware/v2/validator"
	auth0v3jwks "github.com/auth0/go-jwt-middleware/v3/jwks"
	auth0v3validator "github.com/auth0/go-jwt-middleware/v3/validator"
	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	golangjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
)

// Kind groups contenders in the table.
type Kind int

// The kinds of contenders.
const (
	// Floor is the bare signature verification: the least any validator
	// must spend. Ratios are taken against it.
	Floor Kind = iota + 1
	// Tollgate is one of tollgate's own paths.
	Tollgate
	// Peer is another Go library.
	Peer
	// Baseline is a reference that validates nothing (a bare handler).
	Baseline
)

func (k Kind) String() string {
	switch k {
	case Floor:
		return "floor"
	case Tollgate:
		return "tollgate"
	case Peer:
		return "peer"
	case Baseline:
		return "baseline"
	}
	return "unknown"
}

// Check validates one prepared token; it is what the benchmarks time. A nil
// error means the token was accepted. Checks are safe for concurrent use.
type Check func(ctx context.Context) error

// Instance is a contender set up for one [Fixture].
type Instance struct {
	// Prepare does, outside the timed loop, what does not depend on the
	// request (building an *http.Request, splitting the token for the
	// floor) and returns the check to time.
	Prepare func(token string) Check
	// Close releases what Setup started; nil if nothing.
	Close func()
}

// Contender is one way of validating the fixture's tokens.
type Contender struct {
	// Name is the sub-benchmark name: letters, digits, '.' and '-', and it
	// does not end in "-<digits>" (the suffix go test gives to -cpu runs).
	Name string
	// Label is what the table shows.
	Label string
	Kind  Kind
	// Parallel marks the cached paths whose scaling is measured with
	// b.RunParallel at -cpu 1,2.
	Parallel bool
	// Accepts lists the defects of [Fixture.Bad] that this contender
	// accepts and cannot be configured to refuse without a second parse
	// of the token; the agreement test holds it to exactly this list.
	Accepts []string
	// Setup configures the contender for f.
	Setup func(f *Fixture) (*Instance, error)
}

// Names of the contenders the tables and the goals refer to.
const (
	NameFloor      = "floor"
	NameCold       = "tollgate-cold"
	NameCached     = "tollgate-cached"
	NameMiddleware = "tollgate-middleware"
	NameBare       = "bare-handler"
)

// Contenders returns every contender, in table order. Adding one is one
// line here.
func Contenders() []Contender {
	return []Contender{
		{Name: NameFloor, Label: "floor: sha256 + crypto/rsa, crypto/ecdsa, crypto/ed25519", Kind: Floor, Parallel: true, Setup: floor},
		{Name: NameCold, Label: "tollgate validator, cache disabled (cold)", Kind: Tollgate, Setup: tollgateValidatorSetup(false)},
		{Name: NameCached, Label: "tollgate validator, cached (default)", Kind: Tollgate, Parallel: true, Setup: tollgateValidatorSetup(true)},
		{Name: NameMiddleware, Label: "tollgate middleware + cached validator (net/http)", Kind: Tollgate, Parallel: true, Setup: tollgateMiddleware},
		{Name: "golang-jwt", Label: "golang-jwt/jwt v5 + keyfunc v3", Kind: Peer, Setup: golangJWT},
		{Name: "go-jose", Label: "go-jose v4 (jwt.ParseSigned + Claims + Validate)", Kind: Peer, Setup: goJose},
		{Name: "go-oidc", Label: "coreos/go-oidc v3 IDTokenVerifier", Kind: Peer, Setup: goOIDC},
		{Name: "auth0-v2", Label: "auth0/go-jwt-middleware v2 validator", Kind: Peer, Accepts: []string{"no exp"}, Setup: auth0V2},
		{Name: "auth0-v3", Label: "auth0/go-jwt-middleware v3.1.0 validator", Kind: Peer, Accepts: []string{"no exp"}, Setup: auth0V3},
		{Name: "jwx-key", Label: "jwx v2 jwt.Parse(WithKey)", Kind: Peer, Setup: jwxWithKey},
		{Name: "jwx-keyset", Label: "jwx v2 jwt.Parse(WithKeySet)", Kind: Peer, Setup: jwxWithKeySet},
		{Name: NameBare, Label: "net/http bare handler, no validation (baseline)", Kind: Baseline, Setup: bareHandler},
	}
}

// validatorInstance adapts a validate function to an Instance.
func validatorInstance(validate func(ctx context.Context, token string) error, closeFn func()) *Instance {
	return &Instance{
		Prepare: func(token string) Check {
			return func(ctx context.Context) error { return validate(ctx, token) }
		},
		Close: closeFn,
	}
}

var errRejected = errors.New("rejected")

// floor verifies the token's signature with the standard library and
// nothing else. Prepare splits the token and decodes the signature; the
// check hashes the signing input and verifies, as every validator must.
func floor(f *Fixture) (*Instance, error) {
	pub := f.Key.Public()
	prepare := func(token string) Check {
		dot := strings.LastIndexByte(token, '.')
		if dot < 0 {
			return func(context.Context) error { return errRejected }
		}
		input := []byte(token[:dot])
		sig, err := base64.RawURLEncoding.DecodeString(token[dot+1:])
		if err != nil {
			return func(context.Context) error { return errRejected }
		}
		switch pub := pub.(type) {
		case *rsa.PublicKey:
			return func(context.Context) error {
				h := sha256.Sum256(input)
				return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
			}
		case *ecdsa.PublicKey:
			// JWS carries r||s; crypto/ecdsa wants ASN.1. The conversion is
			// done once here so that the floor is the verification alone.
			if len(sig) != 64 {
				return func(context.Context) error { return errRejected }
			}
			der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
			if err != nil {
				return func(context.Context) error { return errRejected }
			}
			return func(context.Context) error {
				h := sha256.Sum256(input)
				if !ecdsa.VerifyASN1(pub, h[:], der) {
					return errRejected
				}
				return nil
			}
		case ed25519.PublicKey:
			return func(context.Context) error {
				if !ed25519.Verify(pub, input, sig) {
					return errRejected
				}
				return nil
			}
		}
		return func(context.Context) error { return errRejected }
	}
	return &Instance{Prepare: prepare}, nil
}

// golangJWTClaims is what a user of a struct-decoding library would decode:
// the registered claims and the scope.
type golangJWTClaims struct {
	golangjwt.RegisteredClaims
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
}

// golangJWT is golang-jwt/jwt v5 with the JWK Set from keyfunc v3 (fetched
// from the AS, refreshed in the background until Close).
func golangJWT(f *Fixture) (*Instance, error) {
	ctx, cancel := context.WithCancel(context.Background())
	kf, err := keyfunc.NewDefaultCtx(ctx, []string{f.AS.JWKSURL()})
	if err != nil {
		cancel()
		return nil, err
	}
	parser := golangjwt.NewParser(
		golangjwt.WithValidMethods([]string{f.Alg}),
		golangjwt.WithIssuer(f.Issuer),
		golangjwt.WithAudience(f.Audience),
		golangjwt.WithExpirationRequired(),
	)
	return validatorInstance(func(_ context.Context, token string) error {
		_, err := parser.ParseWithClaims(token, &golangJWTClaims{}, kf.Keyfunc)
		return err
	}, cancel), nil
}

type goJoseClaims struct {
	josejwt.Claims
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
}

// goJose is go-jose v4's jwt package with the AS's JWK Set. go-jose's
// Validate passes a token without exp, so the check of its presence is
// added on the decoded claims.
func goJose(f *Fixture) (*Instance, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(f.JWKS, &set); err != nil {
		return nil, err
	}
	algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(f.Alg)}
	expected := josejwt.Expected{Issuer: f.Issuer, AnyAudience: josejwt.Audience{f.Audience}}
	return validatorInstance(func(_ context.Context, token string) error {
		tok, err := josejwt.ParseSigned(token, algs)
		if err != nil {
			return err
		}
		var c goJoseClaims
		if err := tok.Claims(set, &c); err != nil {
			return err
		}
		if c.Expiry == nil {
			return errors.New("no exp")
		}
		exp := expected
		exp.Time = time.Now()
		return c.Claims.ValidateWithLeeway(exp, 0)
	}, nil), nil
}

// goOIDC is go-oidc v3's IDTokenVerifier with a RemoteKeySet. It is an ID
// token verifier: Config.ClientID is the audience it requires, so it is set
// to the API's audience (SkipClientIDCheck would skip the aud check
// altogether). It checks iss, aud, exp (a token without exp has a zero
// expiry, which is in the past), nbf with 5 minutes of leeway and the
// algorithm; it cannot check typ.
func goOIDC(f *Fixture) (*Instance, error) {
	ctx, cancel := context.WithCancel(context.Background())
	ks := oidc.NewRemoteKeySet(ctx, f.AS.JWKSURL())
	v := oidc.NewVerifier(f.Issuer, ks, &oidc.Config{ClientID: f.Audience, SupportedSigningAlgs: []string{f.Alg}})
	return validatorInstance(func(ctx context.Context, token string) error {
		_, err := v.Verify(ctx, token)
		return err
	}, cancel), nil
}

// auth0V2 is auth0/go-jwt-middleware v2's validator with its caching JWKS
// provider (OIDC discovery at the issuer). It accepts a token without exp:
// requiring one takes custom claims, a second decode of the payload.
func auth0V2(f *Fixture) (*Instance, error) {
	u, err := url.Parse(f.Issuer)
	if err != nil {
		return nil, err
	}
	provider := auth0jwks.NewCachingProvider(u, 5*time.Minute)
	v, err := auth0validator.New(provider.KeyFunc, auth0validator.SignatureAlgorithm(f.Alg), f.Issuer, []string{f.Audience})
	if err != nil {
		return nil, err
	}
	return validatorInstance(func(ctx context.Context, token string) error {
		_, err := v.ValidateToken(ctx, token)
		return err
	}, nil), nil
}

// auth0V3 is auth0/go-jwt-middleware v3.1.0 (built on jwx v3) with its
// caching JWKS provider. Like v2, it accepts a token without exp.
func auth0V3(f *Fixture) (*Instance, error) {
	u, err := url.Parse(f.Issuer)
	if err != nil {
		return nil, err
	}
	provider, err := auth0v3jwks.NewCachingProvider(auth0v3jwks.WithIssuerURL(u), auth0v3jwks.WithCacheTTL(5*time.Minute))
	if err != nil {
		return nil, err
	}
	v, err := auth0v3validator.New(
		auth0v3validator.WithKeyFunc(provider.KeyFunc),
		auth0v3validator.WithAlgorithm(auth0v3validator.SignatureAlgorithm(f.Alg)),
		auth0v3validator.WithIssuer(f.Issuer),
		auth0v3validator.WithAudience(f.Audience),
	)
	if err != nil {
		return nil, err
	}
	return validatorInstance(func(ctx context.Context, token string) error {
		_, err := v.ValidateToken(ctx, token)
		return err
	}, nil), nil
}

// jwxWithKey is jwx v2's jwt.Parse with the one public key.
func jwxWithKey(f *Fixture) (*Instance, error) {
	opts := []jwxjwt.ParseOption{
		jwxjwt.WithKey(jwa.SignatureAlgorithm(f.Alg), f.Key.Public()),
		jwxjwt.WithValidate(true),
		jwxjwt.WithIssuer(f.Issuer),
		jwxjwt.WithAudience(f.Audience),
		jwxjwt.WithRequiredClaim("exp"),
	}
	return validatorInstance(func(_ context.Context, token string) error {
		_, err := jwxjwt.ParseString(token, opts...)
		return err
	}, nil), nil
}

// jwxWithKeySet is jwx v2's jwt.Parse with the AS's JWK Set (key chosen by
// kid, algorithm from the key's alg).
func jwxWithKeySet(f *Fixture) (*Instance, error) {
	set, err := jwk.Parse(f.JWKS)
	if err != nil {
		return nil, err
	}
	opts := []jwxjwt.ParseOption{
		jwxjwt.WithKeySet(set),
		jwxjwt.WithValidate(true),
		jwxjwt.WithIssuer(f.Issuer),
		jwxjwt.WithAudience(f.Audience),
		jwxjwt.WithRequiredClaim("exp"),
	}
	return validatorInstance(func(_ context.Context, token string) error {
		_, err := jwxjwt.ParseString(token, opts...)
		return err
	}, nil), nil
}

// bareHandler is the net/http baseline: the same request and recorder as the
// middleware contenders, and a handler that validates nothing.
func bareHandler(*Fixture) (*Instance, error) {
	return handlerInstance(okHandler()), nil
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
}

// handlerInstance serves one prepared request per check through h with a
// fresh httptest recorder; a status other than 204 is a rejection.
func handlerInstance(h http.Handler) *Instance {
	return &Instance{Prepare: func(token string) Check {
		req := httptest.NewRequest(http.MethodGet, "https://api.example.test/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return func(context.Context) error {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNoContent {
				return fmt.Errorf("%w: status %d", errRejected, rec.Code)
			}
			return nil
		}
	}}
}
