package jwks_test

// End to end with the real validator: the acceptance scenarios judged by
// Validate, the way a resource server sees them.

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

func newValidator(t *testing.T, as *oauthtest.Server, s *jwks.Set) *validator.Validator {
	t.Helper()
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{{
		Issuer: as.Issuer(), Audiences: []string{as.Audience()}, Keys: s,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

func mustValidate(t *testing.T, v *validator.Validator, token string) {
	t.Helper()
	if _, err := v.Validate(context.Background(), token); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestValidatorRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		s := newSet(t, as, jwks.Config{})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		v := newValidator(t, as, s)
		old := as.JWT(oauthtest.TokenOptions{Lifetime: 24 * time.Hour})
		mustValidate(t, v, old)

		advance(time.Minute)
		as.RotateKey("ES256")
		fresh := as.JWT(oauthtest.TokenOptions{Lifetime: 24 * time.Hour})
		before := as.Requests(oauthtest.EndpointJWKS)
		mustValidate(t, v, fresh)
		mustValidate(t, v, old)
		mustValidate(t, v, fresh)
		if n := as.Requests(oauthtest.EndpointJWKS) - before; n != 1 {
			t.Fatalf("%d fetches for the rotation, want exactly 1", n)
		}

		// A token from a key the AS never published is invalid, not
		// unavailable; the passing twin is the token above.
		forged := as.JWT(oauthtest.TokenOptions{Key: oauthtest.NewKey("RS256")})
		_, err := v.Validate(context.Background(), forged)
		wantErr(t, err, tollgate.ErrInvalidToken, "kid")

		// Withdrawn: the old key's tokens stop validating after the refresh.
		as.RemoveKey(kidOf(t, old))
		advance(jwks.DefaultMaxRefreshInterval)
		_, err = v.Validate(context.Background(), old)
		wantErr(t, err, tollgate.ErrInvalidToken, "kid")
		mustValidate(t, v, fresh)
	})
}

func TestValidatorOutageAndRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusServiceUnavailable})
		s := newSet(t, as, jwks.Config{})
		if err := s.Start(context.Background()); err == nil {
			t.Fatal("Start succeeded while the AS is down")
		}
		v := newValidator(t, as, s)
		token := as.JWT(oauthtest.TokenOptions{Lifetime: 48 * time.Hour})
		_, err := v.Validate(context.Background(), token)
		wantErr(t, err, tollgate.ErrUnavailable, "jwks")

		as.Heal(oauthtest.EndpointJWKS)
		advance(jwks.DefaultMinRefreshInterval)
		mustValidate(t, v, token)

		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Hang: true})
		for range 24 {
			advance(time.Hour)
			mustValidate(t, v, token)
		}
	})
}
