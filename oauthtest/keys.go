package oauthtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Key is a signing key of the test authorization server, or a foreign key a
// test signs with to prove that tokens from it are refused.
type Key struct {
	id     string
	alg    string
	priv   crypto.Signer
	signer jws.Signer
}

// NewKey generates a key for the JWS algorithm alg: RS256, RS384, RS512,
// PS256, PS384, PS512 (2048-bit RSA), ES256, ES384, ES512 or EdDSA (Ed25519).
// The key ID is the key's RFC 7638 thumbprint. It panics on an unknown
// algorithm, as a test helper should.
func NewKey(alg string) *Key {
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		panic(fmt.Sprintf("oauthtest: unsupported algorithm %q", alg))
	}
	if err != nil {
		panic(fmt.Sprintf("oauthtest: generating %s key: %v", alg, err))
	}
	return NewKeyFrom(alg, priv)
}

// NewKeyFrom wraps an existing private key (*rsa.PrivateKey,
// *ecdsa.PrivateKey or ed25519.PrivateKey) for the JWS algorithm alg, for
// tests that need a fixed key. The key ID is the key's RFC 7638 thumbprint.
func NewKeyFrom(alg string, priv crypto.Signer) *Key {
	signer, err := jws.NewSigner(jwa.SignatureAlgorithm(alg))
	if err != nil {
		panic(fmt.Sprintf("oauthtest: no signer for %q: %v", alg, err))
	}
	jk, err := jwk.FromRaw(priv.Public())
	if err != nil {
		panic(fmt.Sprintf("oauthtest: %v", err))
	}
	tp, err := jk.Thumbprint(crypto.SHA256)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: %v", err))
	}
	return &Key{id: base64.RawURLEncoding.EncodeToString(tp), alg: alg, priv: priv, signer: signer}
}

// WithID returns a copy of k with another key ID (for kid-injection tests, or
// to publish the same key under two IDs).
func (k *Key) WithID(kid string) *Key {
	c := *k
	c.id = kid
	return &c
}

// ID returns the key ID ("kid").
func (k *Key) ID() string { return k.id }

// Algorithm returns the JWS algorithm the key signs with.
func (k *Key) Algorithm() string { return k.alg }

// Public returns the public half: *rsa.PublicKey, *ecdsa.PublicKey or
// ed25519.PublicKey.
func (k *Key) Public() crypto.PublicKey { return k.priv.Public() }

// Private returns the private key, for tests that sign by hand.
func (k *Key) Private() crypto.Signer { return k.priv }

// PublicJWK returns the public key as a JWK (RFC 7517) with "kid" and
// "use": "sig", and "alg" unless omitAlg is set.
func (k *Key) PublicJWK(omitAlg bool) json.RawMessage {
	jk, err := jwk.FromRaw(k.priv.Public())
	if err != nil {
		panic(fmt.Sprintf("oauthtest: %v", err))
	}
	_ = jk.Set(jwk.KeyIDKey, k.id)
	_ = jk.Set(jwk.KeyUsageKey, "sig")
	if !omitAlg {
		_ = jk.Set(jwk.AlgorithmKey, jwa.SignatureAlgorithm(k.alg))
	}
	b, err := json.Marshal(jk)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: %v", err))
	}
	return b
}

// Sign returns the compact JWS of payload. The protected header has "alg"
// (the key's algorithm) and "kid" (the key's ID), then the members of header,
// which override those two; a member whose value is nil is removed. So a test
// that wants a lying "alg" or no "kid" says so in header.
func (k *Key) Sign(header map[string]any, payload []byte) string {
	h := make(map[string]any, len(header)+2)
	h["alg"] = k.alg
	h["kid"] = k.id
	for name, v := range header {
		if v == nil {
			delete(h, name)
			continue
		}
		h[name] = v
	}
	hb, err := json.Marshal(h)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: header: %v", err))
	}
	signingInput := b64(hb) + "." + b64(payload)
	sig, err := k.signer.Sign([]byte(signingInput), k.priv)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: signing: %v", err))
	}
	return signingInput + "." + b64(sig)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
