package introspect_test

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/oauthtest"
)

// TestSecretsNeverPrinted: a Config, its secret, its key and the Client print
// no secret with any fmt verb, in slog or in JSON; nor does a Config print a
// password given in its URLs (which New refuses, but a Config can be printed
// before New, or after New failed).
func TestSecretsNeverPrinted(t *testing.T) {
	const (
		secret     = "S3cr3t-VALUE-do-not-print"
		urlSecret  = "URL-passw0rd-do-not-print"
		issSecret  = "ISS-passw0rd-do-not-print"
		opaqSecret = "OPAQUE-passw0rd-do-not-print"
	)
	key := oauthtest.NewKey("ES256")
	d := key.Private().(*ecdsa.PrivateKey).D
	forbidden := []string{secret, urlSecret, issSecret, opaqSecret, d.String(), d.Text(16), fmt.Sprintf("%x", d.Bytes())}

	aud := []string{"https://api.example"}
	basic := introspect.Config{Endpoint: "https://as.example/introspect", Audiences: aud, ClientID: "rs", ClientSecret: secret}
	jwt := introspect.Config{Endpoint: "https://as.example/introspect", Audiences: aud, ClientID: "rs", AuthMethod: introspect.PrivateKeyJWT,
		ClientKey: introspect.ClientKey{Signer: key.Private(), Algorithm: "ES256", KeyID: "k1"}}
	inURL := basic
	inURL.Issuer = "https://as:" + issSecret + "@as.example"
	inURL.Endpoint = "https://rs:" + urlSecret + "@as.example/introspect"
	opaque := basic
	opaque.Endpoint = "rs:" + opaqSecret + "@as.example/introspect" // "https://" forgotten
	cb, err := introspect.New(basic)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	cj, err := introspect.New(jwt)
	if err != nil {
		t.Fatal(err)
	}
	defer cj.Close()

	values := map[string]any{
		"config": basic, "*config": &basic, "jwt config": jwt, "secret": basic.ClientSecret,
		"key": jwt.ClientKey, "*key": &jwt.ClientKey, "client": cb, "jwt client": cj,
		"in a struct": struct{ C introspect.Config }{basic}, "in a slice": []introspect.Config{basic, jwt},
		"password in the URLs": inURL, "password in an opaque URL": opaque,
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			var out []string
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
				out = append(out, fmt.Sprintf(verb, v))
			}
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
			slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v)
			out = append(out, buf.String())
			if b, err := json.Marshal(v); err == nil {
				out = append(out, string(b))
			}
			all := strings.Join(out, "\n")
			for _, f := range forbidden {
				if strings.Contains(all, f) {
					t.Fatalf("printed a secret:\n%s", all)
				}
			}
			if !strings.Contains(all, "redacted") && !strings.Contains(all, "xxxxx") && !strings.Contains(all, "introspect.Client") {
				t.Errorf("nothing printed in its place:\n%s", all)
			}
		})
	}
	// The passing twin: the values are still there for those who ask.
	if string(basic.ClientSecret) != secret || jwt.ClientKey.Signer != key.Private() {
		t.Fatal("the secret itself is changed")
	}
}
