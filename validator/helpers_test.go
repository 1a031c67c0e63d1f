package validator_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// staticKeys is a fixed validator.KeySet for tests; production code uses the
// jwks package's sets.
type staticKeys struct {
	all  []*jwks.Key
	byID map[string][]*jwks.Key
}

func newStaticKeys(keys ...*jwks.Key) *staticKeys {
	s := &staticKeys{all: keys, byID: make(map[string][]*jwks.Key)}
	for _, k := range keys {
		s.byID[k.ID()] = append(s.byID[k.ID()], k)
	}
	return s
}

func (s *staticKeys) Lookup(_ context.Context, kid string) ([]*jwks.Key, error) {
	if ks, ok := s.byID[kid]; ok {
		return ks, nil
	}
	return nil, &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "kid", Detail: "no key with this kid"}
}

func (s *staticKeys) Keys(context.Context) ([]*jwks.Key, error) { return s.all, nil }

// publicKey converts an oauthtest key to a jwks.Key, with or without its alg.
func publicKey(t testing.TB, k *oauthtest.Key, withAlg bool) *jwks.Key {
	t.Helper()
	alg := ""
	if withAlg {
		alg = k.Algorithm()
	}
	jk, err := jwks.NewKey(k.ID(), alg, k.Public())
	if err != nil {
		t.Fatalf("jwks.NewKey: %v", err)
	}
	return jk
}

// serverKeys fetches the test server's JWK Set and parses it as production
// code does.
func serverKeys(t testing.TB, as *oauthtest.Server) *staticKeys {
	t.Helper()
	resp, err := as.Client().Get(as.JWKSURL())
	if err != nil {
		t.Fatalf("fetching JWKS: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("reading JWKS: %v", err)
	}
	keys, skipped, err := jwks.ParseSet(body, 0)
	if err != nil || len(skipped) != 0 {
		t.Fatalf("parsing JWKS: %v, skipped %v", err, skipped)
	}
	return newStaticKeys(keys...)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// hashOf returns the hash a JWS algorithm signs with.
func hashOf(alg string) crypto.Hash {
	switch alg[2:] {
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return crypto.SHA256
}

// rawSignature signs input the way JWS algorithm alg does, with priv.
func rawSignature(t testing.TB, alg string, priv crypto.Signer, input []byte) []byte {
	t.Helper()
	if alg == "EdDSA" {
		return ed25519.Sign(priv.(ed25519.PrivateKey), input)
	}
	h := hashOf(alg)
	hh := h.New()
	hh.Write(input)
	digest := hh.Sum(nil)
	var sig []byte
	var err error
	switch alg[:2] {
	case "RS":
		sig, err = rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), h, digest)
	case "PS":
		sig, err = rsa.SignPSS(rand.Reader, priv.(*rsa.PrivateKey), h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES":
		ek := priv.(*ecdsa.PrivateKey)
		r, s, e := ecdsa.Sign(rand.Reader, ek, digest)
		size := (ek.Curve.Params().BitSize + 7) / 8
		sig, err = make([]byte, 2*size), e
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
	default:
		t.Fatalf("rawSignature: unsupported %s", alg)
	}
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return sig
}

// hmacSign returns the HS* signature of input.
func hmacSign(alg string, secret, input []byte) []byte {
	mac := hmac.New(hashOf(alg).New, secret)
	mac.Write(input)
	return mac.Sum(nil)
}

// signWith returns a compact JWS over header and payload exactly as given
// (bytes, not re-encoded JSON), signed by k with alg.
func signWith(t testing.TB, k *oauthtest.Key, alg, header, payload string) string {
	t.Helper()
	input := b64(header) + "." + b64(payload)
	return input + "." + base64.RawURLEncoding.EncodeToString(rawSignature(t, alg, k.Private(), []byte(input)))
}

// members is an ordered JSON object written member by member, so that tests
// can build duplicates, odd types and malformed documents.
type members [][2]string

// set replaces the value of name (raw JSON), or appends it.
func (m members) set(name, raw string) members {
	out := append(members(nil), m...)
	for i := range out {
		if out[i][0] == name {
			out[i][1] = raw
			return out
		}
	}
	return append(out, [2]string{name, raw})
}

// add appends a member even if the name exists.
func (m members) add(name, raw string) members {
	return append(append(members(nil), m...), [2]string{name, raw})
}

func (m members) del(name string) members {
	var out members
	for _, kv := range m {
		if kv[0] != name {
			out = append(out, kv)
		}
	}
	return out
}

func (m members) json() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, kv := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(kv[0]))
		b.WriteByte(':')
		b.WriteString(kv[1])
	}
	b.WriteByte('}')
	return b.String()
}

// q returns s as a JSON string.
func q(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func num(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// t0 is the fixtures' fixed clock.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fixture is an authorization server, its signing key and a validator that
// trusts it, all on a fixed clock.
type fixture struct {
	as  *oauthtest.Server
	key *oauthtest.Key
	alg string
	now time.Time
	v   *validator.Validator
}

// newFixture makes a fixture whose server signs with alg; mods adjust the
// issuer's configuration (whose Keys hold the signing key with its alg).
func newFixture(t testing.TB, alg string, mods ...func(f *fixture, is *validator.Issuer)) *fixture {
	t.Helper()
	as := oauthtest.New(oauthtest.Config{Algorithm: alg, Now: func() time.Time { return t0 }})
	t.Cleanup(as.Close)
	return newFixtureOn(t, as, mods...)
}

// newFixtureOn is newFixture with an existing server (whose clock must be
// t0), since generating keys is the slow part of a test.
func newFixtureOn(t testing.TB, as *oauthtest.Server, mods ...func(f *fixture, is *validator.Issuer)) *fixture {
	t.Helper()
	f := &fixture{as: as, key: as.SigningKey(), alg: as.SigningKey().Algorithm(), now: t0}
	is := validator.Issuer{
		Issuer:    f.as.Issuer(),
		Audiences: []string{f.as.Audience()},
		Keys:      newStaticKeys(publicKey(t, f.key, true)),
	}
	for _, mod := range mods {
		mod(f, &is)
	}
	// The rule tests exercise the checks themselves, so the cache, which
	// would answer a repeated token without them, is off here; cache_test.go
	// covers the validator with its cache.
	v, err := validator.New(validator.Config{
		Issuers:      []validator.Issuer{is},
		Now:          func() time.Time { return f.now },
		Logger:       slog.New(slog.DiscardHandler),
		DisableCache: true,
	})
	if err != nil {
		t.Fatalf("validator.New: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	f.v = v
	return f
}

// header returns the usual protected header: alg, kid, typ at+jwt.
func (f *fixture) header() members {
	return members{{"alg", q(f.alg)}, {"kid", q(f.key.ID())}, {"typ", q("at+jwt")}}
}

// claims returns a valid claims set.
func (f *fixture) claims() members {
	return members{
		{"iss", q(f.as.Issuer())},
		{"sub", q("user-123")},
		{"aud", q(f.as.Audience())},
		{"exp", num(f.now.Add(time.Hour))},
		{"iat", num(f.now)},
		{"client_id", q("client-app")},
		{"jti", q("token-1")},
		{"scope", q("read write")},
	}
}

// sign signs header and claims with the fixture's key and algorithm.
func (f *fixture) sign(t testing.TB, header, claims members) string {
	t.Helper()
	return signWith(t, f.key, f.alg, header.json(), claims.json())
}

// token returns a valid token made by hand.
func (f *fixture) token(t testing.TB) string { return f.sign(t, f.header(), f.claims()) }

// validate runs the fixture's validator.
func (f *fixture) validate(token string) (*tollgate.Principal, error) {
	return f.v.Validate(context.Background(), token)
}

// wantReject asserts err is a *tollgate.Error matching kind with Check check.
func wantReject(t testing.TB, err error, kind error, check string) {
	t.Helper()
	if err == nil {
		t.Fatalf("token accepted, want %v (%s)", kind, check)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %v does not match %v", err, kind)
	}
	var te *tollgate.Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v is not a *tollgate.Error", err)
	}
	if te.Check != check {
		t.Errorf("Check = %q, want %q (error: %v)", te.Check, check, err)
	}
}

// wantAccept asserts a token was accepted.
func wantAccept(t testing.TB, p *tollgate.Principal, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("token rejected: %v", err)
	}
	if p == nil {
		t.Fatal("nil principal without error")
	}
}
