package validator_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/validator"
)

// TestSecretRedacted: an HMAC secret never prints - not with any fmt verb,
// not through log/slog's text or JSON handler, not as JSON - whether the
// secret, its Issuer or the whole Config is printed; []byte(secret) is still
// the secret, and the validator still uses it.
func TestSecretRedacted(t *testing.T) {
	raw := []byte("hmac-s3cr3t-0123456789-abcdefghijkl")
	is := validator.Issuer{Issuer: "https://legacy.example", Audiences: []string{"api"}, HMACSecret: raw}
	cfg := validator.Config{Issuers: []validator.Issuer{is}}
	forms := []string{
		string(raw), hex.EncodeToString(raw), strings.ToUpper(hex.EncodeToString(raw)),
		base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw),
		strings.Trim(fmt.Sprint(raw), "[]")[:20], // the decimal bytes, as %v prints a []byte
		fmt.Sprintf("%q", raw)[1:20],
	}
	leaks := func(t *testing.T, out string) {
		t.Helper()
		for _, f := range forms {
			if strings.Contains(out, f) {
				t.Fatalf("the secret (as %q) in %q", f, out)
			}
		}
		if !strings.Contains(out, "[redacted]") {
			t.Fatalf("no [redacted] in %q", out)
		}
	}

	// Twin: the value is the secret, assignable from and convertible to
	// []byte, and its plain form would be caught by the check above.
	if !bytes.Equal([]byte(is.HMACSecret), raw) || !strings.Contains(fmt.Sprint(raw), forms[5]) {
		t.Fatal("HMACSecret is not the secret")
	}

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for name, v := range map[string]any{"secret": is.HMACSecret, "issuer": is, "*issuer": &is, "config": cfg, "*config": &cfg} {
			t.Run(verb+" "+name, func(t *testing.T) { leaks(t, fmt.Sprintf(verb, v)) })
		}
	}
	t.Run("Sprint", func(t *testing.T) { leaks(t, fmt.Sprint(is, cfg, is.HMACSecret)) })

	for name, newHandler := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"slog JSON": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			slog.New(newHandler(&b)).Info("config", "secret", is.HMACSecret, "issuer", is, "config", cfg)
			leaks(t, b.String())
		})
	}
	t.Run("JSON", func(t *testing.T) {
		out, err := json.Marshal(struct{ S validator.Secret }{is.HMACSecret})
		if err != nil {
			t.Fatal(err)
		}
		leaks(t, string(out))
	})

	// The validator still uses the secret: a token signed with it validates.
	cfg.Now = func() time.Time { return t0 }
	v, err := validator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	input := b64(`{"alg":"HS256","typ":"at+jwt"}`) + "." + b64(`{"iss":"https://legacy.example","sub":"s","aud":"api","exp":`+num(t0.Add(time.Hour))+`}`)
	p, err := v.Validate(context.Background(), input+"."+base64.RawURLEncoding.EncodeToString(hmacSign("HS256", raw, []byte(input))))
	wantAccept(t, p, err)
}
