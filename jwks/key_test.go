package jwks_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
)

// privateJWK returns the full private JWK of k, as a careless authorization
// server would publish it.
func privateJWK(t *testing.T, k *oauthtest.Key) json.RawMessage {
	t.Helper()
	jk, err := jwk.FromRaw(k.Private())
	if err != nil {
		t.Fatal(err)
	}
	_ = jk.Set(jwk.KeyIDKey, k.ID())
	b, err := json.Marshal(jk)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseSetMembers: each kind of bad member is skipped with a reason,
// next to its passing twin (the same key without the defect).
func TestParseSetMembers(t *testing.T) {
	rs := oauthtest.NewKey("RS256")
	es := oauthtest.NewKey("ES256")
	es384 := oauthtest.NewKey("ES384")
	ed := oauthtest.NewKey("EdDSA")
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallJWK := oauthtest.NewKeyFrom("RS256", small).PublicJWK(false)
	for _, tc := range []struct {
		name   string
		member json.RawMessage
		reason string // "" for a usable key
	}{
		{"RSA", rs.PublicJWK(false), ""},
		{"RSA without alg", rs.PublicJWK(true), ""},
		{"RSA without use", withMembers(rs.PublicJWK(false), map[string]any{"use": nil}), ""},
		{"RSA with key_ops verify", withMembers(rs.PublicJWK(false), map[string]any{"use": nil, "key_ops": []string{"verify"}}), ""},
		{"RSA for encryption", withMembers(rs.PublicJWK(false), map[string]any{"use": "enc"}), "use is"},
		{"RSA with key_ops encrypt", withMembers(rs.PublicJWK(false), map[string]any{"key_ops": []string{"encrypt"}}), "key_ops"},
		{"RSA-OAEP alg", withMembers(rs.PublicJWK(false), map[string]any{"alg": "RSA-OAEP"}), "unsupported alg"},
		{"RSA with HS256 alg", withMembers(rs.PublicJWK(false), map[string]any{"alg": "HS256"}), "unsupported alg"},
		{"RSA with none alg", withMembers(rs.PublicJWK(false), map[string]any{"alg": "none"}), "unsupported alg"},
		{"RSA with ES256 alg", withMembers(rs.PublicJWK(false), map[string]any{"alg": "ES256"}), "does not fit"},
		{"RSA 1024 bits", smallJWK, "less than 2048"},
		{"RSA with d", withMembers(rs.PublicJWK(false), map[string]any{"d": "AQAB"}), "private"},
		{"RSA private JWK", privateJWK(t, rs), "private"},
		{"RSA even exponent", withMembers(rs.PublicJWK(false), map[string]any{"e": "Ag"}), "exponent"},
		{"RSA bad modulus", withMembers(rs.PublicJWK(false), map[string]any{"n": "!!"}), "RSA key"},
		{"EC P-256", es.PublicJWK(false), ""},
		{"EC P-384", es384.PublicJWK(true), ""},
		{"EC with ES384 alg on P-256", withMembers(es.PublicJWK(false), map[string]any{"alg": "ES384"}), "does not fit"},
		{"EC private JWK", privateJWK(t, es), "private"},
		{"EC point off the curve", withMembers(es.PublicJWK(false), map[string]any{"y": b64u(make([]byte, 32))}), "not on its curve"},
		{"EC coordinate too short", withMembers(es.PublicJWK(false), map[string]any{"y": b64u([]byte{1, 2, 3})}), "not on its curve"},
		{"EC secp256k1", json.RawMessage(`{"kty":"EC","crv":"secp256k1","x":"` + b64u(make([]byte, 32)) + `","y":"` + b64u(make([]byte, 32)) + `"}`), "EC key"},
		{"OKP Ed25519", ed.PublicJWK(false), ""},
		{"OKP private JWK", privateJWK(t, ed), "private"},
		{"OKP X25519", json.RawMessage(`{"kty":"OKP","crv":"X25519","x":"` + b64u(make([]byte, 32)) + `"}`), "unsupported"},
		{"OKP short", json.RawMessage(`{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`), "wrong size"},
		{"oct", json.RawMessage(`{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}`), "private or symmetric"},
		{"oct without k", json.RawMessage(`{"kty":"oct"}`), "unsupported key type"},
		{"no kty", json.RawMessage(`{"n":"AQAB","e":"AQAB"}`), "unsupported key type"},
		{"kty RSA with EC members", withMembers(es.PublicJWK(false), map[string]any{"kty": "RSA", "alg": nil}), "RSA key"},
		{"kid not a string", withMembers(rs.PublicJWK(false), map[string]any{"kid": 7}), "kid is not a string"},
		{"alg not a string", withMembers(rs.PublicJWK(false), map[string]any{"alg": 7}), "malformed"},
		{"not an object", json.RawMessage(`[1,2]`), "not a JSON object"},
		{"null", json.RawMessage(`null`), "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, skipped, err := jwks.ParseSet([]byte(jwkSet(tc.member)), 0)
			if err != nil {
				t.Fatalf("ParseSet: %v", err)
			}
			if tc.reason == "" {
				if len(keys) != 1 || len(skipped) != 0 {
					t.Fatalf("keys %v, skipped %+v; want the key", keys, skipped)
				}
				return
			}
			if len(keys) != 0 || len(skipped) != 1 {
				t.Fatalf("keys %v, skipped %+v; want it skipped", keys, skipped)
			}
			if !strings.Contains(skipped[0].Reason, tc.reason) {
				t.Fatalf("reason %q, want it to mention %q", skipped[0].Reason, tc.reason)
			}
			for _, secret := range []string{`"d"`, "c2VjcmV0"} {
				if strings.Contains(skipped[0].Reason, secret) {
					t.Fatalf("reason %q quotes key material", skipped[0].Reason)
				}
			}
		})
	}
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestParseSetDocument(t *testing.T) {
	rs := oauthtest.NewKey("RS256").PublicJWK(false)
	for _, tc := range []struct {
		name    string
		data    string
		maxKeys int
		keys    int // -1: an error
	}{
		{"one key", jwkSet(rs), 0, 1},
		{"empty set", `{"keys":[]}`, 0, 0},
		{"extra members", `{"keys":[` + string(rs) + `],"other":1}`, 0, 1},
		{"no keys", `{}`, 0, -1},
		{"keys null", `{"keys":null}`, 0, -1},
		{"keys an object", `{"keys":{}}`, 0, -1},
		{"an array", `[` + string(rs) + `]`, 0, -1},
		{"not JSON", `<html>`, 0, -1},
		{"truncated", jwkSet(rs)[:40], 0, -1},
		{"at the limit", jwkSet(rs, rs), 2, 2},
		{"past the limit", jwkSet(rs, rs, rs), 2, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, _, err := jwks.ParseSet([]byte(tc.data), tc.maxKeys)
			if tc.keys < 0 {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil || len(keys) != tc.keys {
				t.Fatalf("ParseSet = %d keys, %v; want %d", len(keys), err, tc.keys)
			}
		})
	}
}

func TestNewKey(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	offCurve := &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name string
		alg  string
		pub  any
		ok   bool
	}{
		{"RSA", "RS256", &rsaKey.PublicKey, true},
		{"RSA PS512", "PS512", &rsaKey.PublicKey, true},
		{"RSA without alg", "", &rsaKey.PublicKey, true},
		{"RSA 1024", "RS256", &small.PublicKey, false},
		{"RSA even exponent", "RS256", &rsa.PublicKey{N: rsaKey.N, E: 65536}, false},
		{"RSA exponent 1", "RS256", &rsa.PublicKey{N: rsaKey.N, E: 1}, false},
		{"RSA nil modulus", "RS256", &rsa.PublicKey{E: 65537}, false},
		{"RSA as ES256", "ES256", &rsaKey.PublicKey, false},
		{"RSA as HS256", "HS256", &rsaKey.PublicKey, false},
		{"P-256", "ES256", &p256.PublicKey, true},
		{"P-256 as ES512", "ES512", &p256.PublicKey, false},
		{"P-224", "", &p224.PublicKey, false},
		{"P-256 off the curve", "ES256", offCurve, false},
		{"P-256 no coordinates", "ES256", &ecdsa.PublicKey{Curve: elliptic.P256()}, false},
		{"Ed25519", "EdDSA", edPub, true},
		{"Ed25519 short", "EdDSA", edPub[:31], false},
		{"Ed25519 as ES256", "ES256", edPub, false},
		{"private key", "RS256", rsaKey, false},
		{"big.Int", "", big.NewInt(1), false},
		{"nil", "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := jwks.NewKey("kid", tc.alg, tc.pub)
			if !tc.ok {
				if err == nil {
					t.Fatalf("NewKey accepted %T", tc.pub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.ID() != "kid" || k.Algorithm() != tc.alg || (tc.alg != "" && !k.Fits(tc.alg)) {
				t.Fatalf("key %s %s %s", k.ID(), k.Algorithm(), k.Type())
			}
		})
	}
}

// TestKeyFits: a key without "alg" serves every algorithm of its type and
// curve; one with "alg" serves only that one.
func TestKeyFits(t *testing.T) {
	rsaKey := oauthtest.NewKey("RS256").Public()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	anyRSA, _ := jwks.NewKey("a", "", rsaKey)
	onlyPS, _ := jwks.NewKey("b", "PS256", rsaKey)
	ec, _ := jwks.NewKey("c", "", &p384.PublicKey)
	for _, tc := range []struct {
		key  *jwks.Key
		alg  string
		want bool
	}{
		{anyRSA, "RS256", true},
		{anyRSA, "PS512", true},
		{anyRSA, "ES256", false},
		{anyRSA, "none", false},
		{anyRSA, "HS256", false},
		{onlyPS, "PS256", true},
		{onlyPS, "RS256", false},
		{ec, "ES384", true},
		{ec, "ES256", false},
		{ec, "EdDSA", false},
	} {
		if got := tc.key.Fits(tc.alg); got != tc.want {
			t.Errorf("%s key (alg %q) Fits(%q) = %v, want %v", tc.key.Type(), tc.key.Algorithm(), tc.alg, got, tc.want)
		}
	}
}
