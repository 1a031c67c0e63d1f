package validator_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// FuzzValidate feeds mutations of valid tokens (RS256, ES256, EdDSA, from
// three issuers) to one validator. It must never panic, and a token must
// never validate unless it is one of the seeds, unchanged: every byte of a
// token is covered by the signature or decodes to the signature, and no two
// spellings decode alike.
func FuzzValidate(f *testing.F) {
	var seeds []string
	var issuers []validator.Issuer
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		as := oauthtest.New(oauthtest.Config{Algorithm: alg, Now: func() time.Time { return t0 }})
		defer as.Close()
		issuers = append(issuers, validator.Issuer{
			Issuer:    as.Issuer(),
			Audiences: []string{as.Audience()},
			Keys:      newStaticKeys(publicKey(f, as.SigningKey(), true)),
		})
		tok := as.JWT(oauthtest.TokenOptions{Scopes: []string{"read"}, Claims: map[string]any{"ext": map[string]any{"a": []any{1, "b", nil}}}})
		seeds = append(seeds, tok)
		f.Add(tok)
		p := strings.Split(tok, ".")
		f.Add(p[0] + "." + p[1] + ".")                                                            // unsigned
		f.Add(`{"protected":"` + p[0] + `","payload":"` + p[1] + `","signature":"` + p[2] + `"}`) // JSON
		f.Add(tok + ".e30.e30")                                                                   // JWE shape
	}
	v, err := validator.New(validator.Config{Issuers: issuers, Now: func() time.Time { return t0 }, Logger: slog.New(slog.DiscardHandler), DisableCache: true})
	if err != nil {
		f.Fatal(err)
	}
	defer v.Close()
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Validate(context.Background(), token)
		if err == nil {
			if p == nil {
				t.Fatal("nil principal without error")
			}
			for _, s := range seeds {
				if token == s {
					return
				}
			}
			t.Fatalf("a token that is not one of the seeds validated: %q", token)
		}
		if p != nil {
			t.Fatal("principal with an error")
		}
	})
}
