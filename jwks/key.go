package jwks

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// MinRSABits is the smallest RSA modulus accepted for signature verification
// (RFC 7518 section 3.3 requires 2048 bits).
const MinRSABits = 2048

// Key is one public verification key of a JWK Set, already converted to its
// crypto/* form. A Key is immutable and safe to share.
type Key struct {
	id  string
	alg string
	kty string
	crv string
	pub crypto.PublicKey
}

// ID returns the key ID ("kid"), possibly empty.
func (k *Key) ID() string { return k.id }

// Algorithm returns the key's "alg" member, or "" when the set does not
// restrict the key to one algorithm.
func (k *Key) Algorithm() string { return k.alg }

// Type returns the key type: "RSA", "EC" or "OKP".
func (k *Key) Type() string { return k.kty }

// Curve returns the curve of an EC or OKP key ("P-256", "P-384", "P-521",
// "Ed25519"), or "".
func (k *Key) Curve() string { return k.crv }

// Public returns the key as a *rsa.PublicKey, *ecdsa.PublicKey or
// ed25519.PublicKey. Callers must not modify it.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Fits reports whether the key may verify a signature made with the JWS
// algorithm alg: the key's own "alg", when present, must equal alg, and the
// key's type and curve must be the ones alg is defined for (RFC 7518, RFC 8037).
func (k *Key) Fits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	return fits(k.kty, k.crv, alg)
}

func fits(kty, crv, alg string) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return kty == "RSA"
	case "ES256":
		return kty == "EC" && crv == "P-256"
	case "ES384":
		return kty == "EC" && crv == "P-384"
	case "ES512":
		return kty == "EC" && crv == "P-521"
	case "EdDSA":
		return kty == "OKP" && crv == "Ed25519"
	}
	return false
}

// NewKey makes a Key from a crypto public key (*rsa.PublicKey,
// *ecdsa.PublicKey or ed25519.PublicKey), with an optional key ID and
// algorithm. It applies the same rules as a fetched set: RSA keys of at least
// [MinRSABits], the P-256, P-384 and P-521 curves, and an alg that fits the key.
func NewKey(kid, alg string, pub crypto.PublicKey) (*Key, error) {
	k := &Key{id: kid, alg: alg}
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p == nil || p.N == nil {
			return nil, errors.New("jwks: nil RSA key")
		}
		if p.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("jwks: RSA key of %d bits, less than %d", p.N.BitLen(), MinRSABits)
		}
		if p.E < 3 || p.E%2 == 0 {
			return nil, errors.New("jwks: RSA key with an invalid public exponent")
		}
		k.kty, k.pub = "RSA", &rsa.PublicKey{N: p.N, E: p.E}
	case *ecdsa.PublicKey:
		if p == nil || p.Curve == nil {
			return nil, errors.New("jwks: nil EC key")
		}
		switch p.Curve {
		case elliptic.P256():
			k.crv = "P-256"
		case elliptic.P384():
			k.crv = "P-384"
		case elliptic.P521():
			k.crv = "P-521"
		default:
			return nil, errors.New("jwks: unsupported EC curve")
		}
		// jwx accepts any coordinates; a point off its curve is not a key.
		if p.X == nil || p.Y == nil {
			return nil, errors.New("jwks: EC key without coordinates")
		}
		if _, err := p.ECDH(); err != nil {
			return nil, errors.New("jwks: EC point not on its curve")
		}
		k.kty, k.pub = "EC", p
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return nil, errors.New("jwks: Ed25519 key of the wrong size")
		}
		k.kty, k.crv, k.pub = "OKP", "Ed25519", slices.Clone(p)
	default:
		return nil, fmt.Errorf("jwks: unsupported key type %T", pub)
	}
	if alg != "" && !fits(k.kty, k.crv, alg) {
		return nil, fmt.Errorf("jwks: alg %q does not fit a %s key", alg, k.kty)
	}
	return k, nil
}

// Skipped describes a member of a JWK Set that was not accepted as a key.
type Skipped struct {
	// Index is the key's position in the set's "keys" array.
	Index int
	// KeyID is the key's "kid", if it could be read.
	KeyID string
	// Reason says why the key was skipped.
	Reason string
}

// privateMembers are the JWK members that only private or symmetric keys have
// (RFC 7518 section 6). A set that publishes them is leaking a secret; tollgate
// refuses to use such a key rather than silently using its public half.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// ParseSet parses a JWK Set document (RFC 7517 section 5). It returns an error
// only when data is not a JWK Set at all (not JSON, no "keys" array, more than
// maxKeys members when maxKeys > 0); a member that is not a usable public
// signature key is left out and reported in skipped, and the others are kept.
// A key is skipped when it cannot be parsed, has a "use" other than "sig" or
// "key_ops" without "verify", has a key type or "alg" tollgate does not verify
// with (symmetric keys included), is an RSA key under [MinRSABits], or carries
// private key members.
func ParseSet(data []byte, maxKeys int) (keys []*Key, skipped []Skipped, err error) {
	var doc struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, errors.New("jwks: not a JWK Set: invalid JSON")
	}
	if doc.Keys == nil {
		return nil, nil, errors.New(`jwks: not a JWK Set: no "keys" array`)
	}
	if maxKeys > 0 && len(*doc.Keys) > maxKeys {
		return nil, nil, fmt.Errorf("jwks: JWK Set has %d keys, more than the limit of %d", len(*doc.Keys), maxKeys)
	}
	for i, raw := range *doc.Keys {
		k, kid, reason := parseKey(raw)
		if reason != "" {
			skipped = append(skipped, Skipped{Index: i, KeyID: kid, Reason: reason})
			continue
		}
		keys = append(keys, k)
	}
	return keys, skipped, nil
}

func parseKey(raw json.RawMessage) (k *Key, kid, reason string) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return nil, "", "not a JSON object"
	}
	if v, ok := members["kid"]; ok {
		if json.Unmarshal(v, &kid) != nil {
			return nil, "", "kid is not a string"
		}
	}
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			return nil, kid, "private or symmetric key material (" + m + ") published"
		}
	}
	var hdr struct {
		Kty    string   `json:"kty"`
		Use    *string  `json:"use"`
		KeyOps []string `json:"key_ops"`
		Alg    string   `json:"alg"`
	}
	if json.Unmarshal(raw, &hdr) != nil {
		return nil, kid, "malformed kty, use, key_ops or alg"
	}
	switch hdr.Kty {
	case "RSA", "EC", "OKP":
	default:
		return nil, kid, "unsupported key type " + quote(hdr.Kty)
	}
	if hdr.Use != nil && *hdr.Use != "sig" {
		return nil, kid, "use is " + quote(*hdr.Use) + ", not sig"
	}
	if hdr.KeyOps != nil && !slices.Contains(hdr.KeyOps, "verify") {
		return nil, kid, "key_ops does not include verify"
	}
	if hdr.Alg != "" && !supportedAlg(hdr.Alg) {
		return nil, kid, "unsupported alg " + quote(hdr.Alg)
	}
	jk, err := jwk.ParseKey(raw)
	if err != nil {
		// jwx's message can quote key material; keep ours fixed.
		return nil, kid, "unparsable " + hdr.Kty + " key"
	}
	var pub any
	if err := jk.Raw(&pub); err != nil {
		return nil, kid, "unusable " + hdr.Kty + " key"
	}
	key, err := NewKey(kid, hdr.Alg, pub)
	if err != nil {
		return nil, kid, err.Error()
	}
	if hdr.Kty != key.kty {
		return nil, kid, "key type does not match its members"
	}
	return key, kid, ""
}

func supportedAlg(alg string) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
		return true
	}
	return false
}

// quote returns s quoted and cut to a length fit for a log line.
func quote(s string) string {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// equalKeys reports whether two keys are the same key with the same
// constraints; refreshes use it to tell rotations from re-publications.
func equalKeys(a, b *Key) bool {
	if a.id != b.id || a.alg != b.alg || a.kty != b.kty || a.crv != b.crv {
		return false
	}
	switch pa := a.pub.(type) {
	case *rsa.PublicKey:
		return pa.Equal(b.pub)
	case *ecdsa.PublicKey:
		return pa.Equal(b.pub)
	case ed25519.PublicKey:
		pb, ok := b.pub.(ed25519.PublicKey)
		return ok && bytes.Equal(pa, pb)
	}
	return false
}
