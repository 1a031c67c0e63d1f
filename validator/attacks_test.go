package validator_test

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// Each test here is named for an attack on JWT validation. Every one starts
// with the legitimate token passing, so that the rejections cannot come
// from a broken setup.

func twin(t *testing.T, f *fixture) {
	t.Helper()
	p, err := f.validate(f.token(t))
	wantAccept(t, p, err)
}

// withSig replaces the token's signature segment.
func withSig(token, sig string) string { return token[:strings.LastIndexByte(token, '.')+1] + sig }

func TestAttackAlgNone(t *testing.T) {
	f := newFixture(t, "RS256")
	twin(t, f)
	legit := f.token(t)
	legitSig := legit[strings.LastIndexByte(legit, '.')+1:]
	for _, alg := range []string{"none", "None", "NONE", "nOnE", "none ", " none", "none\u0000"} {
		for _, sig := range []string{"", legitSig, "AAAA"} {
			h := f.header().set("alg", q(alg))
			tok := b64(h.json()) + "." + b64(f.claims().json()) + "." + sig
			_, err := f.validate(tok)
			wantReject(t, err, tollgate.ErrInvalidToken, "alg")
		}
	}
	// Without kid and typ, as the classic attack sends it.
	_, err := f.validate(b64(`{"alg":"none"}`) + "." + b64(f.claims().json()) + ".")
	wantReject(t, err, tollgate.ErrInvalidToken, "alg")
}

// TestAttackKeyConfusionHS256 signs with HMAC using the issuer's RSA public
// key, in every encoding an attacker might guess, as the secret.
func TestAttackKeyConfusionHS256(t *testing.T) {
	for _, withAlg := range []bool{true, false} {
		f := newFixture(t, "RS256", func(f *fixture, is *validator.Issuer) {
			is.Keys = newStaticKeys(publicKey(t, f.key, withAlg))
		})
		twin(t, f)
		pub := f.key.Public().(*rsa.PublicKey)
		pkix, _ := x509.MarshalPKIXPublicKey(pub)
		secrets := [][]byte{
			pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
			pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)}),
			pkix,
			f.key.PublicJWK(false),
			pub.N.Bytes(),
		}
		for _, secret := range secrets {
			for _, alg := range []string{"HS256", "HS384", "HS512"} {
				input := b64(f.header().set("alg", q(alg)).json()) + "." + b64(f.claims().json())
				tok := input + "." + base64.RawURLEncoding.EncodeToString(hmacSign(alg, secret, []byte(input)))
				_, err := f.validate(tok)
				wantReject(t, err, tollgate.ErrInvalidToken, "alg")
			}
		}
	}
}

// TestAttackEmbeddedJWK puts the attacker's own public key in the header
// (CVE-2018-0114) and signs with it.
func TestAttackEmbeddedJWK(t *testing.T) {
	f := newFixture(t, "RS256")
	twin(t, f)
	attacker := oauthtest.NewKey("RS256").WithID(f.key.ID())
	for _, signer := range []*oauthtest.Key{attacker, f.key} {
		h := f.header().set("jwk", string(signer.PublicJWK(false)))
		_, err := f.validate(signWith(t, signer, "RS256", h.json(), f.claims().json()))
		wantReject(t, err, tollgate.ErrInvalidToken, "header")
	}
}

// TestAttackJKUAndX5U points jku, x5u (and x5c) at a server the attacker
// controls; the token is rejected and no request reaches the server.
func TestAttackJKUAndX5U(t *testing.T) {
	var requests atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "nothing here", http.StatusNotFound)
	}))
	defer evil.Close()

	f := newFixture(t, "RS256", func(f *fixture, is *validator.Issuer) { is.Keys = serverKeys(t, f.as) })
	twin(t, f)
	attacker := oauthtest.NewKey("RS256")
	members := map[string]string{
		"jku": q(evil.URL + "/jwks.json"),
		"x5u": q(evil.URL + "/cert.pem"),
		"x5c": `["` + base64.StdEncoding.EncodeToString([]byte("attacker certificate")) + `"]`,
	}
	for name, value := range members {
		for _, signer := range []*oauthtest.Key{attacker, f.key} {
			h := f.header().set(name, value).set("kid", q(signer.ID()))
			_, err := f.validate(signWith(t, signer, "RS256", h.json(), f.claims().json()))
			wantReject(t, err, tollgate.ErrInvalidToken, "header")
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the attacker's server received %d requests", n)
	}
}

// TestAttackKidInjection sends kid values meant for file paths, SQL, shell,
// URL fetches and buffers: each is only a map key, unknown, and rejected.
func TestAttackKidInjection(t *testing.T) {
	f := newFixture(t, "RS256")
	twin(t, f)
	kids := []string{
		"../../../../../../etc/passwd",
		"/dev/null",
		"' OR '1'='1",
		"x'; DROP TABLE keys; --",
		"$(curl attacker.example)",
		"`id`",
		"http://attacker.example/jwks.json",
		"{{.Secret}}",
		"kid\u0000" + f.key.ID(),
		strings.ToUpper(f.key.ID()),
		f.key.ID() + " ",
		strings.Repeat("A", 10<<10),
	}
	for _, kid := range kids {
		_, err := f.validate(f.sign(t, f.header().set("kid", q(kid)), f.claims()))
		wantReject(t, err, tollgate.ErrInvalidToken, "kid")
		if len(kid) > 100 && strings.Contains(err.Error(), kid[:100]) {
			t.Errorf("error quotes the long kid")
		}
	}
}

// TestAttackECDSAZeroSignature sends r = s = 0 and other out-of-range
// (r, s) pairs ("psychic signatures", CVE-2022-21449) for every ES curve.
func TestAttackECDSAZeroSignature(t *testing.T) {
	for _, c := range []struct {
		alg  string
		size int
	}{{"ES256", 32}, {"ES384", 48}, {"ES512", 66}} {
		t.Run(c.alg, func(t *testing.T) {
			f := newFixture(t, c.alg)
			twin(t, f)
			tok := f.token(t)
			n := f.key.Public().(*ecdsa.PublicKey).Curve.Params().N
			enc := func(r, s *big.Int) string {
				sig := make([]byte, 2*c.size)
				r.FillBytes(sig[:c.size])
				s.FillBytes(sig[c.size:])
				return base64.RawURLEncoding.EncodeToString(sig)
			}
			zero, one := big.NewInt(0), big.NewInt(1)
			for _, rs := range [][2]*big.Int{{zero, zero}, {zero, one}, {one, zero}, {n, n}, {n, one}, {one, n}} {
				_, err := f.validate(withSig(tok, enc(rs[0], rs[1])))
				wantReject(t, err, tollgate.ErrInvalidToken, "signature")
			}
		})
	}
}

func TestAttackDuplicateAlg(t *testing.T) {
	f := newFixture(t, "RS256")
	twin(t, f)
	kid := f.key.ID()
	for _, h := range []string{
		`{"alg":"RS256","alg":"none","kid":"` + kid + `","typ":"at+jwt"}`,
		`{"alg":"none","alg":"RS256","kid":"` + kid + `","typ":"at+jwt"}`,
		`{"alg":"RS256","kid":"` + kid + `","typ":"at+jwt","alg":"RS256"}`,
		`{"alg":"RS256","ALG":"none","kid":"` + kid + `","typ":"at+jwt"}`,
		`{"Alg":"none","alg":"RS256","kid":"` + kid + `","typ":"at+jwt"}`,
		`{"alg":"RS256","\u0061lg":"none","kid":"` + kid + `","typ":"at+jwt"}`,
		`{"alg":"RS256","kid":"` + kid + `","kid":"other","typ":"at+jwt"}`,
	} {
		_, err := f.validate(signWith(t, f.key, "RS256", h, f.claims().json()))
		wantReject(t, err, tollgate.ErrInvalidToken, "header")
	}
}

// TestAttackBase64Spellings sends other spellings of a valid token: with
// padding, the standard alphabet, non-zero unused bits, line breaks and
// spaces. No two spellings decode alike, so each is refused as malformed.
func TestAttackBase64Spellings(t *testing.T) {
	f := newFixture(t, "RS256")
	twin(t, f)
	tok := f.token(t)
	p := strings.Split(tok, ".")
	std := func(s string) string { return strings.NewReplacer("-", "+", "_", "/").Replace(s) }
	var spellings []string
	for i := range p {
		q := append([]string(nil), p...)
		q[i] += strings.Repeat("=", (4-len(p[i])%4)%4+4*boolInt(len(p[i])%4 == 0))
		spellings = append(spellings, strings.Join(q, "."))
		if s := std(p[i]); s != p[i] {
			q := append([]string(nil), p...)
			q[i] = s
			spellings = append(spellings, strings.Join(q, "."))
		}
		q = append([]string(nil), p...)
		q[i] = q[i][:4] + "\r\n" + q[i][4:]
		spellings = append(spellings, strings.Join(q, "."))
		q = append([]string(nil), p...)
		q[i] = " " + q[i]
		spellings = append(spellings, strings.Join(q, "."))
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	spellings = append(spellings, tok[:len(tok)-1]+string(alphabet[last|1]))
	for _, s := range spellings {
		_, err := f.validate(s)
		wantReject(t, err, tollgate.ErrInvalidToken, "format")
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestAttackTrailingSegments(t *testing.T) {
	f := newFixture(t, "RS256")
	twin(t, f)
	tok := f.token(t)
	for _, s := range []string{tok + ".", tok + ".e30", tok + "..", tok + ".e30.e30", "." + tok, tok + "." + tok} {
		_, err := f.validate(s)
		wantReject(t, err, tollgate.ErrInvalidToken, "format")
	}
}

func TestAttackOversizeToken(t *testing.T) {
	f := newFixture(t, "RS256")
	twin(t, f)
	pad := func(n int) string {
		tok := f.sign(t, f.header(), f.claims().set("pad", q("")))
		return f.sign(t, f.header(), f.claims().set("pad", q(strings.Repeat("x", (n-len(tok))*3/4))))
	}
	atLimit := pad(validator.DefaultMaxTokenBytes - 3)
	if len(atLimit) > validator.DefaultMaxTokenBytes {
		t.Fatalf("test token of %d bytes", len(atLimit))
	}
	p, err := f.validate(atLimit)
	wantAccept(t, p, err)
	for _, tok := range []string{pad(validator.DefaultMaxTokenBytes + 4), strings.Repeat("A", 1<<20), strings.Repeat(".", 1<<20)} {
		_, err := f.validate(tok)
		wantReject(t, err, tollgate.ErrInvalidToken, "size")
	}
}

// TestAttackKeyNotInJWKS signs with a key the issuer never published.
func TestAttackKeyNotInJWKS(t *testing.T) {
	f := newFixture(t, "RS256", func(f *fixture, is *validator.Issuer) { is.Keys = serverKeys(t, f.as) })
	twin(t, f)
	foreign := oauthtest.NewKey("RS256")
	_, err := f.validate(f.as.JWT(oauthtest.TokenOptions{Key: foreign}))
	wantReject(t, err, tollgate.ErrInvalidToken, "kid")
	// The same foreign key claiming the published kid.
	_, err = f.validate(f.as.JWT(oauthtest.TokenOptions{Key: foreign.WithID(f.key.ID())}))
	wantReject(t, err, tollgate.ErrInvalidToken, "signature")
}

func TestAttackNoExp(t *testing.T) {
	f := newFixture(t, "ES256")
	twin(t, f)
	_, err := f.validate(f.as.JWT(oauthtest.TokenOptions{Claims: map[string]any{"exp": nil}}))
	wantReject(t, err, tollgate.ErrInvalidToken, "exp")
}

func TestAttackAudience(t *testing.T) {
	f := newFixture(t, "EdDSA")
	twin(t, f)
	_, err := f.validate(f.as.JWT(oauthtest.TokenOptions{Claims: map[string]any{"aud": nil}}))
	wantReject(t, err, tollgate.ErrInvalidToken, "aud")
	_, err = f.validate(f.as.JWT(oauthtest.TokenOptions{Audience: []string{"https://other-api.example"}}))
	wantReject(t, err, tollgate.ErrInvalidToken, "aud")
}

// TestAttackForeignIssuer presents a token from another authorization server
// (validly signed by it), and one naming that server signed by ours.
func TestAttackForeignIssuer(t *testing.T) {
	f := newFixture(t, "RS256")
	twin(t, f)
	other := oauthtest.NewServer()
	defer other.Close()
	_, err := f.validate(other.JWT(oauthtest.TokenOptions{Audience: []string{f.as.Audience()}}))
	wantReject(t, err, tollgate.ErrInvalidToken, "iss")
	_, err = f.validate(f.as.JWT(oauthtest.TokenOptions{Claims: map[string]any{"iss": other.Issuer()}}))
	wantReject(t, err, tollgate.ErrInvalidToken, "iss")
}

// TestAttackIDTokenAsAccessToken replays an ID token of the same issuer,
// signed by the same key, as an access token.
func TestAttackIDTokenAsAccessToken(t *testing.T) {
	f := newFixture(t, "RS256")
	twin(t, f)
	id := f.as.JWT(oauthtest.TokenOptions{Header: map[string]any{"typ": "JWT"}, Claims: map[string]any{"nonce": "n-0S6", "at_hash": "x"}})
	_, err := f.validate(id)
	wantReject(t, err, tollgate.ErrInvalidToken, "typ")
	lenient := newFixtureOn(t, f.as, func(_ *fixture, is *validator.Issuer) { is.InsecureAllowUntyped = true })
	_, err = lenient.validate(id)
	wantReject(t, err, tollgate.ErrInvalidToken, "typ")
}
