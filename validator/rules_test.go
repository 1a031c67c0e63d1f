package validator_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// rule is one check of the validator: a token with the defect (bad) must be
// rejected with Kind and Check, and the same token without it must pass, so
// that the rejection cannot come from something else.
type rule struct {
	name  string
	alg   string // the fixture's algorithm; RS256 if empty
	cfg   func(f *fixture, is *validator.Issuer)
	token func(t *testing.T, f *fixture, bad bool) string
	kind  error
	check string
}

// pick returns bad or good.
func pick[T any](bad bool, b, g T) T {
	if bad {
		return b
	}
	return g
}

// edit applies a rule's raw value to an object: for the bad token, badRaw
// replaces the member (or "" removes it); for the twin, goodRaw replaces it
// (or "" leaves the valid object as it is).
func edit(m members, name string, bad bool, badRaw, goodRaw string) members {
	switch {
	case bad && badRaw == "":
		return m.del(name)
	case bad:
		return m.set(name, badRaw)
	case goodRaw != "":
		return m.set(name, goodRaw)
	}
	return m
}

// claimRule is a rule whose defect is one claim's raw value.
func claimRule(name, claim, badRaw, goodRaw string, kind error, check string) rule {
	return rule{name: name, kind: kind, check: check, token: func(t *testing.T, f *fixture, bad bool) string {
		return f.sign(t, f.header(), edit(f.claims(), claim, bad, badRaw, goodRaw))
	}}
}

// headerRule is a rule whose defect is one header member's raw value.
func headerRule(name, member, badRaw, goodRaw string, kind error, check string) rule {
	return rule{name: name, kind: kind, check: check, token: func(t *testing.T, f *fixture, bad bool) string {
		return f.sign(t, edit(f.header(), member, bad, badRaw, goodRaw), f.claims())
	}}
}

// rawHeaderRule signs a header given as text.
func rawHeaderRule(name, badHeader, goodHeader string, check string) rule {
	return rule{name: name, kind: tollgate.ErrInvalidToken, check: check, token: func(t *testing.T, f *fixture, bad bool) string {
		h := strings.ReplaceAll(pick(bad, badHeader, goodHeader), "KID", f.key.ID())
		return signWith(t, f.key, f.alg, h, f.claims().json())
	}}
}

// rawClaimsRule signs claims given as text, after the valid ones' members
// ("{...," + suffix).
func rawClaimsRule(name, badSuffix, goodSuffix string, check string) rule {
	return rule{name: name, kind: tollgate.ErrInvalidToken, check: check, token: func(t *testing.T, f *fixture, bad bool) string {
		c := f.claims().json()
		c = c[:len(c)-1] + pick(bad, badSuffix, goodSuffix)
		return signWith(t, f.key, f.alg, f.header().json(), c)
	}}
}

func at(f *fixture, d time.Duration) string { return num(f.now.Add(d)) }

func TestRules(t *testing.T) {
	inv, exp := tollgate.ErrInvalidToken, tollgate.ErrExpired
	rules := []rule{
		// Size and compact form.
		{name: "oversize token", kind: inv, check: "size", token: func(t *testing.T, f *fixture, bad bool) string {
			return f.sign(t, f.header(), f.claims().set("pad", q(strings.Repeat("x", pick(bad, 16<<10, 100)))))
		}},
		{name: "trailing segment", kind: inv, check: "format", token: func(t *testing.T, f *fixture, bad bool) string {
			return f.token(t) + pick(bad, ".e30", "")
		}},
		{name: "trailing empty segment", kind: inv, check: "format", token: func(t *testing.T, f *fixture, bad bool) string {
			return f.token(t) + pick(bad, ".", "")
		}},
		{name: "five segments (JWE)", kind: inv, check: "format", token: func(t *testing.T, f *fixture, bad bool) string {
			return f.token(t) + pick(bad, ".e30.e30", "")
		}},
		{name: "two segments", kind: inv, check: "format", token: func(t *testing.T, f *fixture, bad bool) string {
			tok := f.token(t)
			return pick(bad, tok[:strings.LastIndexByte(tok, '.')], tok)
		}},
		{name: "empty signature", kind: inv, check: "signature", token: func(t *testing.T, f *fixture, bad bool) string {
			tok := f.token(t)
			return pick(bad, tok[:strings.LastIndexByte(tok, '.')+1], tok)
		}},
		{name: "JSON serialization", kind: inv, check: "format", token: func(t *testing.T, f *fixture, bad bool) string {
			tok := f.token(t)
			if !bad {
				return tok
			}
			p := strings.Split(tok, ".")
			return `{"protected":"` + p[0] + `","payload":"` + p[1] + `","signature":"` + p[2] + `"}`
		}},
		{name: "empty token", kind: inv, check: "format", token: func(t *testing.T, f *fixture, bad bool) string {
			return pick(bad, "", f.token(t))
		}},
		{name: "padded payload", kind: inv, check: "format", token: func(t *testing.T, f *fixture, bad bool) string {
			// Grow the claims until their encoding needs padding, then sign
			// the padded spelling.
			c := f.claims()
			for pad := ""; ; pad += "x" {
				c = c.set("pad", q(pad))
				if len(c.json())%3 != 0 {
					break
				}
			}
			enc := base64.RawURLEncoding
			if bad {
				enc = base64.URLEncoding
			}
			input := b64(f.header().json()) + "." + enc.EncodeToString([]byte(c.json()))
			return input + "." + base64.RawURLEncoding.EncodeToString(rawSignature(t, f.alg, f.key.Private(), []byte(input)))
		}},
		{name: "standard base64 alphabet", kind: inv, check: "format", token: func(t *testing.T, f *fixture, bad bool) string {
			// Find claims whose encoding has a character the two alphabets
			// spell differently, then sign the standard spelling.
			c := f.claims()
			for pad := ""; ; pad += " " {
				c = c.set("x", q(pad+"???>>>"))
				if strings.ContainsAny(base64.RawStdEncoding.EncodeToString([]byte(c.json())), "+/") {
					break
				}
			}
			enc := base64.RawURLEncoding
			if bad {
				enc = base64.RawStdEncoding
			}
			input := b64(f.header().json()) + "." + enc.EncodeToString([]byte(c.json()))
			return input + "." + base64.RawURLEncoding.EncodeToString(rawSignature(t, f.alg, f.key.Private(), []byte(input)))
		}},
		{name: "non-zero trailing bits in the signature", kind: inv, check: "format", token: func(t *testing.T, f *fixture, bad bool) string {
			// A 256-byte RS256 signature ends in a character with four unused
			// bits: setting one spells the same bytes differently.
			tok := f.token(t)
			if !bad {
				return tok
			}
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, tok[len(tok)-1])
			return tok[:len(tok)-1] + string(alphabet[last|1])
		}},
		{name: "line break in the signature", kind: inv, check: "format", token: func(t *testing.T, f *fixture, bad bool) string {
			tok := f.token(t)
			i := len(tok) - 10
			return pick(bad, tok[:i]+"\n"+tok[i:], tok)
		}},

		// Header.
		headerRule("alg none", "alg", q("none"), q("RS256"), inv, "alg"),
		headerRule("alg None", "alg", q("None"), q("RS256"), inv, "alg"),
		headerRule("alg NONE", "alg", q("NONE"), q("RS256"), inv, "alg"),
		headerRule("alg nOnE", "alg", q("nOnE"), q("RS256"), inv, "alg"),
		headerRule("alg in lower case", "alg", q("rs256"), q("RS256"), inv, "alg"),
		headerRule("alg missing", "alg", "", q("RS256"), inv, "alg"),
		headerRule("alg not a string", "alg", `["RS256"]`, q("RS256"), inv, "alg"),
		headerRule("alg null", "alg", `null`, q("RS256"), inv, "alg"),
		headerRule("alg HS256 for an asymmetric issuer", "alg", q("HS256"), q("RS256"), inv, "alg"),
		headerRule("embedded jwk", "jwk", `{"kty":"oct","k":"AAAA"}`, "", inv, "header"),
		headerRule("jku", "jku", q("https://attacker.example/jwks"), "", inv, "header"),
		headerRule("x5u", "x5u", q("https://attacker.example/cert"), "", inv, "header"),
		headerRule("x5c", "x5c", `["MIIB"]`, "", inv, "header"),
		headerRule("crit", "crit", `["exp"]`, "", inv, "header"),
		headerRule("b64 false", "b64", `false`, "", inv, "header"),
		headerRule("zip", "zip", q("DEF"), "", inv, "header"),
		headerRule("cty", "cty", q("JWT"), "", inv, "header"),
		headerRule("enc", "enc", q("A128GCM"), "", inv, "format"),
		headerRule("JKU in upper case", "JKU", q("https://attacker.example/jwks"), "", inv, "header"),
		headerRule("Kid differing in case", "Kid", q("other"), "", inv, "header"),
		headerRule("typ missing", "typ", "", q("at+jwt"), inv, "typ"),
		headerRule("typ JWT", "typ", q("JWT"), q("application/at+jwt"), inv, "typ"),
		headerRule("typ dpop+jwt", "typ", q("dpop+jwt"), q("AT+JWT"), inv, "typ"),
		headerRule("typ not a string", "typ", `1`, q("Application/AT+JWT"), inv, "typ"),
		headerRule("kid unknown", "kid", q("unknown-key"), "", inv, "kid"),
		headerRule("kid not a string", "kid", `7`, "", inv, "kid"),
		rawHeaderRule("duplicate alg", `{"alg":"RS256","alg":"RS256","kid":"KID","typ":"at+jwt"}`,
			`{"alg":"RS256","kid":"KID","typ":"at+jwt"}`, "header"),
		rawHeaderRule("alg and ALG", `{"alg":"RS256","ALG":"none","kid":"KID","typ":"at+jwt"}`,
			`{"alg":"RS256","kid":"KID","typ":"at+jwt"}`, "header"),
		rawHeaderRule("escaped duplicate alg", `{"alg":"RS256","\u0061lg":"none","kid":"KID","typ":"at+jwt"}`,
			`{"\u0061lg":"RS256","kid":"KID","typ":"at+jwt"}`, "header"),
		rawHeaderRule("header with trailing data", `{"alg":"RS256","kid":"KID","typ":"at+jwt"}{}`,
			`{"alg":"RS256","kid":"KID","typ":"at+jwt"} `, "header"),
		rawHeaderRule("header not an object", `["RS256"]`, `{"alg":"RS256","kid":"KID","typ":"at+jwt"}`, "header"),
		rawHeaderRule("invalid UTF-8 in the header", `{"alg":"RS256","kid":"KID","typ":"at+jwt","x":"`+"\xff"+`"}`,
			`{"alg":"RS256","kid":"KID","typ":"at+jwt","x":"é"}`, "header"),
		rawHeaderRule("lone surrogate in the header", `{"alg":"RS256","kid":"KID","typ":"at+jwt","x":"\ud800"}`,
			`{"alg":"RS256","kid":"KID","typ":"at+jwt","x":"\ud83d\ude00"}`, "header"),

		// Keys and signatures.
		{name: "no kid and two keys fit", kind: inv, check: "kid",
			cfg: func(f *fixture, is *validator.Issuer) {
				is.Keys = newStaticKeys(publicKey(t, f.key, true), publicKey(t, oauthtest.NewKey("RS256"), true))
			},
			token: func(t *testing.T, f *fixture, bad bool) string {
				return f.sign(t, pick(bad, f.header().del("kid"), f.header()), f.claims())
			}},
		{name: "no kid and no key fits", kind: inv, check: "key",
			cfg: func(f *fixture, is *validator.Issuer) {
				is.Keys = newStaticKeys(publicKey(t, f.key, true), publicKey(t, oauthtest.NewKey("ES256"), true))
			},
			token: func(t *testing.T, f *fixture, bad bool) string {
				h := f.header().del("kid")
				if bad {
					h = h.set("alg", q("RS384"))
				}
				return signWith(t, f.key, pick(bad, "RS384", "RS256"), h.json(), f.claims().json())
			}},
		{name: "key's own alg differs from the header's", kind: inv, check: "key", token: func(t *testing.T, f *fixture, bad bool) string {
			alg := pick(bad, "RS384", "RS256")
			return signWith(t, f.key, alg, f.header().set("alg", q(alg)).json(), f.claims().json())
		}},
		{name: "alg outside the issuer's allowlist", kind: inv, check: "alg",
			cfg: func(f *fixture, is *validator.Issuer) {
				is.Keys = newStaticKeys(publicKey(t, f.key, false))
				is.Algorithms = []string{"RS256"}
			},
			token: func(t *testing.T, f *fixture, bad bool) string {
				alg := pick(bad, "PS256", "RS256")
				return signWith(t, f.key, alg, f.header().set("alg", q(alg)).json(), f.claims().json())
			}},
		{name: "curve does not match ES alg", alg: "ES256", kind: inv, check: "key",
			cfg: func(f *fixture, is *validator.Issuer) { is.Keys = newStaticKeys(publicKey(t, f.key, false)) },
			token: func(t *testing.T, f *fixture, bad bool) string {
				alg := pick(bad, "ES384", "ES256")
				return signWith(t, f.key, alg, f.header().set("alg", q(alg)).json(), f.claims().json())
			}},
		{name: "EdDSA with an EC key", alg: "ES256", kind: inv, check: "key",
			cfg: func(f *fixture, is *validator.Issuer) { is.Keys = newStaticKeys(publicKey(t, f.key, false)) },
			token: func(t *testing.T, f *fixture, bad bool) string {
				return f.sign(t, f.header().set("alg", q(pick(bad, "EdDSA", "ES256"))), f.claims())
			}},
		{name: "ES256 with an RSA key", kind: inv, check: "key",
			cfg: func(f *fixture, is *validator.Issuer) { is.Keys = newStaticKeys(publicKey(t, f.key, false)) },
			token: func(t *testing.T, f *fixture, bad bool) string {
				return f.sign(t, f.header().set("alg", q(pick(bad, "ES256", "RS256"))), f.claims())
			}},
		{name: "signed by another key under the same kid", kind: inv, check: "signature", token: func(t *testing.T, f *fixture, bad bool) string {
			k := pick(bad, oauthtest.NewKey("RS256").WithID(f.key.ID()), f.key)
			return signWith(t, k, "RS256", f.header().json(), f.claims().json())
		}},
		{name: "ES256 signature r = s = 0", alg: "ES256", kind: inv, check: "signature", token: func(t *testing.T, f *fixture, bad bool) string {
			tok := f.token(t)
			if !bad {
				return tok
			}
			return tok[:strings.LastIndexByte(tok, '.')+1] + base64.RawURLEncoding.EncodeToString(make([]byte, 64))
		}},
		{name: "ES256 signature of the wrong length", alg: "ES256", kind: inv, check: "signature", token: func(t *testing.T, f *fixture, bad bool) string {
			input := b64(f.header().json()) + "." + b64(f.claims().json())
			sig := rawSignature(t, "ES256", f.key.Private(), []byte(input))
			if bad {
				sig = append([]byte{0}, sig...) // r with a leading zero: DER-like, not P1363
			}
			return input + "." + base64.RawURLEncoding.EncodeToString(sig)
		}},
		{name: "signature too long", kind: inv, check: "signature", token: func(t *testing.T, f *fixture, bad bool) string {
			tok := f.token(t)
			return pick(bad, tok+strings.Repeat("A", 1100), tok)
		}},
		{name: "payload changed after signing", kind: inv, check: "signature", token: func(t *testing.T, f *fixture, bad bool) string {
			tok := f.token(t)
			if !bad {
				return tok
			}
			p := strings.Split(tok, ".")
			p[1] = b64(f.claims().set("sub", q("admin")).json())
			return strings.Join(p, ".")
		}},

		// Claims: syntax.
		{name: "claims not JSON", kind: inv, check: "claims", token: func(t *testing.T, f *fixture, bad bool) string {
			return signWith(t, f.key, f.alg, f.header().json(), pick(bad, "hello", f.claims().json()))
		}},
		{name: "claims an array", kind: inv, check: "claims", token: func(t *testing.T, f *fixture, bad bool) string {
			c := f.claims().json()
			return signWith(t, f.key, f.alg, f.header().json(), pick(bad, "["+c+"]", c))
		}},
		rawClaimsRule("duplicate exp", `,"exp":9999999999}`, `,"ext":9999999999}`, "claims"),
		rawClaimsRule("exp and Exp", `,"Exp":1}`, `,"Ex":1}`, "claims"),
		rawClaimsRule("duplicate custom claim differing in case", `,"tenant":"a","TENANT":"b"}`, `,"tenant":"a","tenants":"b"}`, "claims"),
		rawClaimsRule("duplicate in a nested object", `,"ext":{"role":"user","Role":"admin"}}`, `,"ext":{"role":"user"}}`, "claims"),
		rawClaimsRule("escaped duplicate claim", `,"\u0073ub":"admin"}`, `,"\u0073ubject":"admin"}`, "claims"),
		rawClaimsRule("Kelvin sign folds to k", `,"kid":1,"\u212Aid":2}`, `,"kid":1,"kit":2}`, "claims"),
		rawClaimsRule("trailing data after the claims", `}{}`, `} `, "claims"),
		rawClaimsRule("invalid UTF-8 in a claim", `,"name":"`+"\xc3\x28"+`"}`, `,"name":"ü"}`, "claims"),
		rawClaimsRule("lone surrogate in a claim", `,"name":"\udc00"}`, `,"name":"\u00fc"}`, "claims"),
		rawClaimsRule("control character in a claim", `,"name":"a`+"\x01"+`"}`, `,"name":"a\u0001"}`, "claims"),
		// The claims object is level 1: 31 arrays in it reach the limit of
		// 32 levels (the twin), 32 arrays pass it.
		rawClaimsRule("nesting one level past the limit", `,"x":`+strings.Repeat("[", 32)+strings.Repeat("]", 32)+`}`,
			`,"x":`+strings.Repeat("[", 31)+strings.Repeat("]", 31)+`}`, "claims"),
		rawClaimsRule("invalid number", `,"n":01}`, `,"n":0.1e-5}`, "claims"),
		rawClaimsRule("truncated claims", `,"n":`, `,"n":1}`, "claims"),
		{name: "EXP in upper case instead of exp", kind: inv, check: "claims", token: func(t *testing.T, f *fixture, bad bool) string {
			return f.sign(t, f.header(), pick(bad, f.claims().del("exp").set("EXP", at(f, time.Hour)), f.claims()))
		}},

		// Claims: issuer.
		claimRule("iss missing", "iss", "", "", inv, "iss"),
		claimRule("iss not a string", "iss", `["x"]`, "", inv, "iss"),
		{name: "iss foreign", kind: inv, check: "iss", token: func(t *testing.T, f *fixture, bad bool) string {
			return f.sign(t, f.header(), f.claims().set("iss", q(pick(bad, "https://evil.example", f.as.Issuer()))))
		}},
		{name: "iss with a trailing slash", kind: inv, check: "iss", token: func(t *testing.T, f *fixture, bad bool) string {
			return f.sign(t, f.header(), f.claims().set("iss", q(f.as.Issuer()+pick(bad, "/", ""))))
		}},
		{name: "iss in upper case", kind: inv, check: "iss", token: func(t *testing.T, f *fixture, bad bool) string {
			return f.sign(t, f.header(), f.claims().set("iss", q(pick(bad, strings.ToUpper(f.as.Issuer()), f.as.Issuer()))))
		}},

		// Claims: audience.
		claimRule("aud missing", "aud", "", "", inv, "aud"),
		claimRule("aud foreign", "aud", q("https://other.example"), "", inv, "aud"),
		claimRule("aud array without ours", "aud", `["https://other.example","x"]`, `["https://other.example","`+oauthtest.DefaultAudience+`"]`, inv, "aud"),
		claimRule("aud empty array", "aud", `[]`, "", inv, "aud"),
		claimRule("aud not a string", "aud", `1`, "", inv, "aud"),
		claimRule("aud array with a number", "aud", `["`+oauthtest.DefaultAudience+`",1]`, `["`+oauthtest.DefaultAudience+`","1"]`, inv, "aud"),

		// Claims: time.
		{name: "exp in the past", kind: exp, check: "exp", token: func(t *testing.T, f *fixture, bad bool) string {
			return f.sign(t, f.header(), f.claims().set("exp", at(f, pick(bad, -61*time.Second, -59*time.Second))))
		}},
		claimRule("exp missing", "exp", "", "", inv, "exp"),
		claimRule("exp a string", "exp", `"9999999999"`, "", inv, "exp"),
		claimRule("exp null", "exp", `null`, "", inv, "exp"),
		claimRule("exp negative", "exp", `-1`, "", inv, "exp"),
		claimRule("exp beyond any date", "exp", `1e300`, "", inv, "exp"),
		{name: "exp with a fraction, in the past", kind: exp, check: "exp", token: func(t *testing.T, f *fixture, bad bool) string {
			return f.sign(t, f.header(), f.claims().set("exp", pick(bad, at(f, -2*time.Minute), at(f, time.Hour))+".5"))
		}},
		{name: "nbf in the future", kind: exp, check: "nbf", token: func(t *testing.T, f *fixture, bad bool) string {
			return f.sign(t, f.header(), f.claims().set("nbf", at(f, pick(bad, 61*time.Second, 59*time.Second))))
		}},
		claimRule("nbf a string", "nbf", `"0"`, "0", inv, "nbf"),
		{name: "iat in the future", kind: inv, check: "iat", token: func(t *testing.T, f *fixture, bad bool) string {
			return f.sign(t, f.header(), f.claims().set("iat", at(f, pick(bad, 61*time.Second, 59*time.Second))))
		}},
		claimRule("iat a bool", "iat", `true`, "", inv, "iat"),
		{name: "older than MaxAge", kind: exp, check: "iat",
			cfg: func(_ *fixture, is *validator.Issuer) { is.MaxAge = 10 * time.Minute },
			token: func(t *testing.T, f *fixture, bad bool) string {
				return f.sign(t, f.header(), f.claims().set("iat", at(f, pick(bad, -12*time.Minute, -10*time.Minute))))
			}},
		{name: "no iat with MaxAge", kind: inv, check: "iat",
			cfg: func(_ *fixture, is *validator.Issuer) { is.MaxAge = 10 * time.Minute },
			token: func(t *testing.T, f *fixture, bad bool) string {
				return f.sign(t, f.header(), pick(bad, f.claims().del("iat"), f.claims()))
			}},
		{name: "no leeway", kind: exp, check: "exp",
			cfg: func(_ *fixture, is *validator.Issuer) { is.Leeway = -1 },
			token: func(t *testing.T, f *fixture, bad bool) string {
				return f.sign(t, f.header(), f.claims().set("exp", at(f, pick(bad, 0, time.Second))))
			}},
		{name: "longer leeway", kind: exp, check: "exp",
			cfg: func(_ *fixture, is *validator.Issuer) { is.Leeway = 5 * time.Minute },
			token: func(t *testing.T, f *fixture, bad bool) string {
				return f.sign(t, f.header(), f.claims().set("exp", at(f, pick(bad, -6*time.Minute, -4*time.Minute))))
			}},

		// Claims: subject, client, token type, confirmation.
		claimRule("sub missing", "sub", "", "", inv, "sub"),
		claimRule("sub empty", "sub", `""`, `"x"`, inv, "sub"),
		claimRule("sub not a string", "sub", `42`, `"42"`, inv, "sub"),
		claimRule("client_id not a string", "client_id", `{}`, "", inv, "claims"),
		claimRule("jti not a string", "jti", `1`, "", inv, "claims"),
		claimRule("ID token (nonce)", "nonce", q("n-0S6_WzA2Mj"), "", inv, "typ"),
		claimRule("ID token (at_hash)", "at_hash", q("77QmUPtjPfzWtF2AnpK9RQ"), "", inv, "typ"),
		claimRule("sender-constrained (cnf)", "cnf", `{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}`, "", inv, "cnf"),
		claimRule("scope not a string", "scope", `["read"]`, `"read"`, inv, "claims"),
		claimRule("scp a number", "scp", `1`, `["read"]`, inv, "claims"),
		{name: "required claim missing", kind: inv, check: "claims",
			cfg: func(_ *fixture, is *validator.Issuer) { is.RequiredClaims = []string{"jti", "client_id"} },
			token: func(t *testing.T, f *fixture, bad bool) string {
				return f.sign(t, f.header(), pick(bad, f.claims().del("jti"), f.claims()))
			}},
		{name: "required claim null", kind: inv, check: "claims",
			cfg: func(_ *fixture, is *validator.Issuer) { is.RequiredClaims = []string{"tenant"} },
			token: func(t *testing.T, f *fixture, bad bool) string {
				return f.sign(t, f.header(), f.claims().set("tenant", pick(bad, "null", q("acme"))))
			}},
		{name: "custom check rejects", kind: inv, check: "claims",
			cfg: func(_ *fixture, is *validator.Issuer) {
				is.Check = func(p *tollgate.Principal) error {
					var c struct{ Tenant string }
					if err := p.Claims(&c); err != nil || c.Tenant != "acme" {
						return errors.New("wrong tenant")
					}
					return nil
				}
			},
			token: func(t *testing.T, f *fixture, bad bool) string {
				return f.sign(t, f.header(), f.claims().set("tenant", q(pick(bad, "evil", "acme"))))
			}},
		{name: "custom check with its own error", kind: inv, check: "tenant",
			cfg: func(_ *fixture, is *validator.Issuer) {
				is.Check = func(p *tollgate.Principal) error {
					if p.Subject() != "user-123" {
						return &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "tenant", Detail: "not ours"}
					}
					return nil
				}
			},
			token: func(t *testing.T, f *fixture, bad bool) string {
				return f.sign(t, f.header(), f.claims().set("sub", q(pick(bad, "intruder", "user-123"))))
			}},
	}

	servers := map[string]*oauthtest.Server{}
	for _, alg := range []string{"RS256", "ES256"} {
		servers[alg] = oauthtest.New(oauthtest.Config{Algorithm: alg, Now: func() time.Time { return t0 }})
		defer servers[alg].Close()
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			alg := r.alg
			if alg == "" {
				alg = "RS256"
			}
			var mods []func(*fixture, *validator.Issuer)
			if r.cfg != nil {
				mods = append(mods, r.cfg)
			}
			f := newFixtureOn(t, servers[alg], mods...)
			t.Run("passing twin", func(t *testing.T) {
				p, err := f.validate(r.token(t, f, false))
				wantAccept(t, p, err)
			})
			t.Run("rejected", func(t *testing.T) {
				_, err := f.validate(r.token(t, f, true))
				wantReject(t, err, r.kind, r.check)
				if r.kind == inv && errors.Is(err, exp) {
					t.Errorf("error %v matches ErrExpired; want only ErrInvalidToken", err)
				}
			})
		})
	}
}

// TestUntyped covers InsecureAllowUntyped: a missing typ and "JWT" pass,
// every other type is still refused.
func TestUntyped(t *testing.T) {
	f := newFixture(t, "RS256", func(_ *fixture, is *validator.Issuer) { is.InsecureAllowUntyped = true })
	for _, typ := range []string{"", "JWT", "jwt", "application/jwt", "at+jwt"} {
		t.Run("accepts typ "+q(typ), func(t *testing.T) {
			h := f.header().del("typ")
			if typ != "" {
				h = h.set("typ", q(typ))
			}
			p, err := f.validate(f.sign(t, h, f.claims()))
			wantAccept(t, p, err)
		})
	}
	for _, typ := range []string{"dpop+jwt", "logout+jwt", "secevent+jwt", "JOSE", "id_token+jwt", "JWT "} {
		t.Run("rejects typ "+q(typ), func(t *testing.T) {
			_, err := f.validate(f.sign(t, f.header().set("typ", q(typ)), f.claims()))
			wantReject(t, err, tollgate.ErrInvalidToken, "typ")
		})
	}
	t.Run("still rejects ID tokens", func(t *testing.T) {
		_, err := f.validate(f.sign(t, f.header().set("typ", q("JWT")), f.claims().set("nonce", q("n"))))
		wantReject(t, err, tollgate.ErrInvalidToken, "typ")
	})
}
