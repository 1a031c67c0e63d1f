package bench

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate/tollgate/oauthtest"
)

// Algorithms returns the JWS algorithms every contender is measured with.
func Algorithms() []string { return []string{"RS256", "ES256", "EdDSA"} }

// Fixture is one algorithm's authorization server, keys and tokens, shared by
// every contender so that all of them verify the same bytes.
type Fixture struct {
	Alg string
	// AS is a loopback oauthtest server publishing the signing key in its
	// JWK Set and discovery documents.
	AS *oauthtest.Server
	// Key is the AS's signing key.
	Key *oauthtest.Key
	// Issuer and Audience are what every contender is configured to expect.
	Issuer, Audience string
	// JWKS is the JWK Set document the AS serves.
	JWKS []byte

	// Valid is an RFC 9068 access token: header alg, kid, typ "at+jwt";
	// claims iss, sub, aud, client_id, iat, exp (in 24 hours), jti, scope.
	Valid string
	// Bad are tokens every contender must reject, by defect.
	Bad []BadToken

	// SigningInput and Signature are the two parts of Valid that the floor
	// verifies: the ASCII of header.payload and the decoded signature.
	SigningInput []byte
	Signature    []byte
}

// BadToken is a token with one defect, and the name of the defect.
type BadToken struct {
	Defect string
	Token  string
}

// Lifetime of the valid token: long enough for any benchmark run.
const Lifetime = 24 * time.Hour

// NewFixture starts a loopback authorization server signing with alg and
// mints the tokens. The caller must Close it.
func NewFixture(alg string) (*Fixture, error) {
	as := oauthtest.New(oauthtest.Config{Algorithm: alg})
	f := &Fixture{Alg: alg, AS: as, Key: as.SigningKey(), Issuer: as.Issuer(), Audience: as.Audience()}
	jwks, err := fetch(as.Client(), as.JWKSURL())
	if err != nil {
		as.Close()
		return nil, err
	}
	f.JWKS = jwks
	opts := oauthtest.TokenOptions{Subject: "user-42", Scopes: []string{"orders:read", "orders:write"}, Lifetime: Lifetime}
	f.Valid = as.JWT(opts)
	dot := strings.LastIndexByte(f.Valid, '.')
	f.SigningInput = []byte(f.Valid[:dot])
	if f.Signature, err = base64.RawURLEncoding.DecodeString(f.Valid[dot+1:]); err != nil {
		as.Close()
		return nil, err
	}

	with := func(change func(o *oauthtest.TokenOptions)) string {
		o := opts
		change(&o)
		return as.JWT(o)
	}
	// The same key under the same kid, so that only the signature check
	// can catch it (an unknown kid would be caught by the key lookup).
	foreign := oauthtest.NewKey(alg).WithID(f.Key.ID())
	f.Bad = []BadToken{
		{"signature altered", alterSignature(f.Valid)},
		{"payload altered", alterPayload(f.Valid)},
		{"expired", with(func(o *oauthtest.TokenOptions) { o.Lifetime = -time.Hour })},
		{"foreign audience", with(func(o *oauthtest.TokenOptions) { o.Audience = []string{"https://other-api.example.test"} })},
		{"foreign issuer", with(func(o *oauthtest.TokenOptions) { o.Claims = map[string]any{"iss": "https://other-as.example.test"} })},
		{"foreign key", with(func(o *oauthtest.TokenOptions) { o.Key = foreign })},
		{"no exp", with(func(o *oauthtest.TokenOptions) { o.Claims = map[string]any{"exp": nil} })},
	}
	return f, nil
}

// Close stops the authorization server.
func (f *Fixture) Close() { f.AS.Close() }

// alterSignature flips one bit in the middle of the signature, keeping it
// valid base64url of the same length.
func alterSignature(token string) string {
	dot := strings.LastIndexByte(token, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(token[dot+1:])
	sig[len(sig)/2] ^= 0x01
	return token[:dot+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// alterPayload replaces the subject in the claims and keeps the original
// signature.
func alterPayload(token string) string {
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	claims["sub"] = "admin"
	payload, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func fetch(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}
