package validator_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/validator"
)

// signatureLayer returns a validator whose only issuer, "vectors", trusts
// the keys of the JWK Set jwkSet (or the HMAC secret, for HS* vectors).
func signatureLayer(t *testing.T, jwkSet string, secret []byte, algs ...string) *validator.Validator {
	t.Helper()
	is := validator.Issuer{Issuer: "vectors", Audiences: []string{"any"}, Algorithms: algs}
	if secret != nil {
		is.HMACSecret = secret
	} else {
		keys, _, err := jwks.ParseSet([]byte(jwkSet), 0)
		if err != nil {
			t.Fatalf("ParseSet: %v", err)
		}
		is.Keys = newStaticKeys(keys...)
	}
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{is}, DisableCache: true})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer v.Close()
	return v
}

// flipSignatureByte returns token with one byte of its decoded signature
// changed, re-encoded.
func flipSignatureByte(t *testing.T, token string, i int) string {
	t.Helper()
	dot := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.Strict().DecodeString(token[dot+1:])
	if err != nil {
		t.Fatalf("decoding signature: %v", err)
	}
	sig[i%len(sig)] ^= 0x01
	return token[:dot+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// TestPublishedVectors runs the examples of RFC 7515 (appendix A.2, RS256;
// A.3, ES256) and RFC 8037 (A.4, EdDSA) through the signature layer: each
// verifies, and fails once any one byte of its signature is flipped.
func TestPublishedVectors(t *testing.T) {
	const rfc7515Payload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	vectors := []struct {
		name, jwk, jws, payload string
	}{
		{
			name: "RFC 7515 A.2 RS256",
			jwk:  `{"kty":"RSA","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}`,
			jws: "eyJhbGciOiJSUzI1NiJ9." + rfc7515Payload +
				".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw",
			payload: "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}",
		},
		{
			name:    "RFC 7515 A.3 ES256",
			jwk:     `{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`,
			jws:     "eyJhbGciOiJFUzI1NiJ9." + rfc7515Payload + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
			payload: "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}",
		},
		{
			name:    "RFC 8037 A.4 EdDSA",
			jwk:     `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`,
			jws:     "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
			payload: "Example of Ed25519 signing",
		},
	}
	for _, vec := range vectors {
		t.Run(vec.name, func(t *testing.T) {
			v := signatureLayer(t, `{"keys":[`+vec.jwk+`]}`, nil)
			payload, err := v.VerifySignature(context.Background(), "vectors", vec.jws)
			if err != nil {
				t.Fatalf("published vector rejected: %v", err)
			}
			if string(payload) != vec.payload {
				t.Errorf("payload = %q, want %q", payload, vec.payload)
			}
			dot := strings.LastIndexByte(vec.jws, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(vec.jws[dot+1:])
			for _, i := range []int{0, 1, len(sig) / 2, len(sig) - 1} {
				_, err := v.VerifySignature(context.Background(), "vectors", flipSignatureByte(t, vec.jws, i))
				wantReject(t, err, tollgate.ErrInvalidToken, "signature")
			}
		})
	}
}

// wycheproofPolicy lists the Wycheproof vectors marked valid that tollgate
// rejects on purpose, and why.
var wycheproofPolicy = map[int]struct{ check, reason string }{
	346: {"key", "the key is published for PS256 and the header says PS384: a key's own alg must equal the header's (RFC 8725 section 3.1)"},
	350: {"key", "the key is published for PS256 and the header says PS384: a key's own alg must equal the header's (RFC 8725 section 3.1)"},
	347: {"kid", `the key's alg is "ES521", which is not a JWS algorithm (ES512 is): the key set skips the key`},
	351: {"kid", `the key's alg is "ES521", which is not a JWS algorithm (ES512 is): the key set skips the key`},
	372: {"format", "HS256 with a character outside the base64url alphabet in the header: strict base64url refuses what a lenient decoder skips (the MAC covers the text as sent)"},
	373: {"format", "HS256 with a character outside the base64url alphabet in the payload: strict base64url refuses what a lenient decoder skips"},
}

// wycheproofDefective lists "invalid" vectors that are byte for byte equal
// to a "valid" one of the same group, so that no verifier can reject them:
// the padding their names describe is missing from the file (other
// projects skip them too). The test checks that they are still identical to
// the valid vector, and runs the padded forms they meant instead.
var wycheproofDefective = map[int]int{367: 357, 370: 357}

type wycheproofFile struct {
	TestGroups []struct {
		Comment string          `json:"comment"`
		Public  json.RawMessage `json:"public"`
		Private json.RawMessage `json:"private"`
		Tests   []struct {
			TcID    int    `json:"tcId"`
			Comment string `json:"comment"`
			JWS     string `json:"jws"`
			Result  string `json:"result"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// TestWycheproofJWS runs every Wycheproof JWS vector through the signature
// layer: each "invalid" one is rejected; each "valid" one verifies, except
// those in wycheproofPolicy; HS256 vectors run with the group's secret.
func TestWycheproofJWS(t *testing.T) {
	data, err := os.ReadFile("testdata/wycheproof/json_web_signature_test.json")
	if err != nil {
		t.Fatal(err)
	}
	var file wycheproofFile
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	asymmetricValid, total := 0, 0
	byID := map[int]string{}
	for _, g := range file.TestGroups {
		for _, tc := range g.Tests {
			byID[tc.TcID] = tc.JWS
		}
	}
	for gi, g := range file.TestGroups {
		var priv struct {
			Kty string `json:"kty"`
			K   string `json:"k"`
		}
		_ = json.Unmarshal(g.Private, &priv)
		var v *validator.Validator
		symmetric := priv.Kty == "oct"
		if symmetric {
			secret, err := base64.RawURLEncoding.DecodeString(priv.K)
			if err != nil {
				t.Fatal(err)
			}
			v = signatureLayer(t, "", secret, "HS256")
		} else {
			v = signatureLayer(t, `{"keys":[`+string(g.Public)+`]}`, nil)
		}
		for _, tc := range g.Tests {
			total++
			t.Run(fmt.Sprintf("group%d/%d-%s", gi, tc.TcID, tc.Comment), func(t *testing.T) {
				if same, ok := wycheproofDefective[tc.TcID]; ok {
					if tc.JWS != byID[same] {
						t.Fatalf("vector is no longer identical to %d: remove it from wycheproofDefective", same)
					}
					// The padded spellings the vector's name describes.
					p := strings.Split(tc.JWS, ".")
					for _, padded := range []string{p[0] + "." + p[1] + "==." + p[2], p[0] + "." + p[1] + "." + p[2] + "="} {
						_, err := v.VerifySignature(context.Background(), "vectors", padded)
						wantReject(t, err, tollgate.ErrInvalidToken, "format")
					}
					return
				}
				_, err := v.VerifySignature(context.Background(), "vectors", tc.JWS)
				rule, policy := wycheproofPolicy[tc.TcID]
				switch {
				case tc.Result == "invalid" && err == nil:
					t.Errorf("invalid vector accepted")
				case tc.Result == "valid" && policy:
					t.Logf("rejected by policy: %s", rule.reason)
					wantReject(t, err, tollgate.ErrInvalidToken, rule.check)
				case tc.Result == "valid" && !policy && err != nil:
					t.Errorf("valid vector rejected: %v", err)
				case tc.Result == "valid" && !policy && !symmetric:
					asymmetricValid++
				}
			})
		}
	}
	if total != 401 {
		t.Errorf("ran %d vectors, want all 401", total)
	}
	// The 32 valid RS*, PS* and ES256 vectors with keys of 2048 bits or more.
	if asymmetricValid != 32 {
		t.Errorf("%d valid asymmetric vectors verified, want 32", asymmetricValid)
	}
}
