package jwks_test

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"testing"

	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
)

// FuzzParseSet feeds ParseSet the JWK Sets an authorization server (or an
// attacker in its place) could serve. Seeds are real sets: every key type
// oauthtest mints, with and without "alg", in the shapes Google, Auth0,
// Azure AD and Keycloak publish, plus hostile members.
func FuzzParseSet(f *testing.F) {
	var members []json.RawMessage
	for _, alg := range []string{"RS256", "PS384", "ES256", "ES384", "ES512", "EdDSA"} {
		k := oauthtest.NewKey(alg)
		members = append(members, k.PublicJWK(false), k.PublicJWK(true))
	}
	rsaJWK := members[0]
	f.Add(jwkSet(members...), 0)
	f.Add(jwkSet(members...), 3)
	f.Add(jwkSet(members[0]), 1)
	// Google: RSA, alg and use, no x5c.
	f.Add(jwkSet(withMembers(rsaJWK, map[string]any{"kid": "0e345fd7e4a97271dffa991f5a893cd16b8e0827"})), 0)
	// Auth0 and Azure AD: x5t, and Azure's extra "issuer" member; no alg.
	f.Add(jwkSet(withMembers(rsaJWK, map[string]any{"alg": nil, "x5t": "nOo3ZDrODXEK1jKWhXslHR_KXEg", "issuer": "https://login.microsoftonline.com/tenant/v2.0"})), 0)
	// Keycloak: a signing key and an encryption key side by side.
	f.Add(jwkSet(rsaJWK, withMembers(rsaJWK, map[string]any{"kid": "enc", "use": "enc", "alg": "RSA-OAEP"})), 0)
	// Hostile or broken members.
	f.Add(jwkSet(withMembers(members[4], map[string]any{"d": "AAAA"})), 0)
	f.Add(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"},{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`, 0)
	f.Add(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""},{"kty":"OKP","crv":"X25519","x":"AAAA"}]}`, 0)
	f.Add(`{"keys":[{"kty":"RSA","kid":{"a":1}},null,1,"x",[]]}`, 0)
	f.Add(`{"keys":[{"kty":"RSA","key_ops":["encrypt"]}]}`, 0)
	f.Add(`{"keys":null}`, 0)
	f.Add(`{"keys":{}}`, 0)
	f.Add(`{}`, 0)
	f.Add(`[]`, 0)
	f.Add(``, 0)

	f.Fuzz(func(t *testing.T, data string, maxKeys int) {
		keys, skipped, err := jwks.ParseSet([]byte(data), maxKeys)
		var doc struct {
			Keys *[]json.RawMessage `json:"keys"`
		}
		parsed := json.Unmarshal([]byte(data), &doc) == nil && doc.Keys != nil
		if err != nil {
			if keys != nil || skipped != nil {
				t.Fatal("keys returned with an error")
			}
			if parsed && (maxKeys <= 0 || len(*doc.Keys) <= maxKeys) {
				t.Fatalf("a JWK Set within the limit was rejected: %v", err)
			}
			return
		}
		if !parsed {
			t.Fatal("not a JWK Set, yet accepted")
		}
		if maxKeys > 0 && len(*doc.Keys) > maxKeys {
			t.Fatalf("%d members accepted with a limit of %d", len(*doc.Keys), maxKeys)
		}
		if len(keys)+len(skipped) != len(*doc.Keys) {
			t.Fatalf("%d keys + %d skipped for %d members", len(keys), len(skipped), len(*doc.Keys))
		}
		last := -1
		for _, sk := range skipped {
			if sk.Index <= last || sk.Index >= len(*doc.Keys) || sk.Reason == "" || len(sk.Reason) > 200 {
				t.Fatalf("skip %+v", sk)
			}
			last = sk.Index
		}
		for _, k := range keys {
			if k == nil || k.Public() == nil {
				t.Fatal("nil key")
			}
			switch k.Type() {
			case "RSA":
				pub, ok := k.Public().(*rsa.PublicKey)
				if !ok || pub.N.BitLen() < jwks.MinRSABits {
					t.Fatalf("RSA key %T accepted", k.Public())
				}
			case "EC":
				pub, ok := k.Public().(*ecdsa.PublicKey)
				if !ok {
					t.Fatalf("EC key %T accepted", k.Public())
				}
				if _, err := pub.ECDH(); err != nil {
					t.Fatal("EC point off its curve accepted")
				}
			case "OKP":
			default:
				t.Fatalf("key type %q accepted", k.Type())
			}
			if k.Algorithm() != "" && !k.Fits(k.Algorithm()) {
				t.Fatalf("key does not fit its own alg %q", k.Algorithm())
			}
			fits := false
			for _, alg := range []string{"RS256", "ES256", "ES384", "ES512", "EdDSA"} {
				fits = fits || k.Fits(alg)
			}
			if !fits && k.Algorithm() == "" {
				t.Fatalf("a %s key fits no algorithm", k.Type())
			}
		}
	})
}
