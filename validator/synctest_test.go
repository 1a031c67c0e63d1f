package validator_test

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// TestExpiryOnFakeClock validates a token against an in-memory authorization
// server inside a synctest bubble, then lets fake time run past its exp (and
// the leeway): the same token is then rejected with ErrExpired.
func TestExpiryOnFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := oauthtest.New(oauthtest.Config{InMemory: true})
		defer as.Close()
		v, err := validator.New(validator.Config{
			Issuers: []validator.Issuer{{Issuer: as.Issuer(), Audiences: []string{as.Audience()}, Keys: serverKeys(t, as)}},
			Logger:  slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		ctx := context.Background()
		token := as.JWT(oauthtest.TokenOptions{Lifetime: 10 * time.Minute})

		p, err := v.Validate(ctx, token)
		wantAccept(t, p, err)
		time.Sleep(10*time.Minute + validator.DefaultLeeway - time.Second)
		p, err = v.Validate(ctx, token)
		wantAccept(t, p, err)

		time.Sleep(time.Second)
		_, err = v.Validate(ctx, token)
		wantReject(t, err, tollgate.ErrExpired, "exp")
	})
}

// TestNotBeforeOnFakeClock lets fake time reach a token's nbf.
func TestNotBeforeOnFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := oauthtest.New(oauthtest.Config{InMemory: true, Algorithm: "EdDSA"})
		defer as.Close()
		v, err := validator.New(validator.Config{
			Issuers: []validator.Issuer{{Issuer: as.Issuer(), Audiences: []string{as.Audience()}, Keys: serverKeys(t, as), Leeway: -1}},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		token := as.JWT(oauthtest.TokenOptions{Claims: map[string]any{"nbf": time.Now().Add(time.Minute).Unix()}})
		_, err = v.Validate(context.Background(), token)
		wantReject(t, err, tollgate.ErrExpired, "nbf")
		time.Sleep(time.Minute)
		p, err := v.Validate(context.Background(), token)
		wantAccept(t, p, err)
	})
}
