package main

import (
	"context"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

const oneHour = time.Hour

// newValidator returns tollgate's JWT validator for the tokens of as, with
// the server's keys fetched (and kept fresh) by a jwks.Set, and a func that
// stops the set.
func newValidator(as *oauthtest.Server) (tollgate.Validator, func(), error) {
	keys, err := jwks.New(jwks.Config{URL: as.JWKSURL()}) // plain http: allowed on loopback only
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := keys.Start(ctx); err != nil {
		_ = keys.Close()
		return nil, nil, err
	}
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{{
		Issuer:    as.Issuer(),
		Audiences: []string{as.Audience()},
		Keys:      keys,
	}}})
	if err != nil {
		_ = keys.Close()
		return nil, nil, err
	}
	return v, func() { _ = v.Close(); _ = keys.Close() }, nil
}

// forge returns a token that names the server's key but is signed by
// another one.
func forge(as *oauthtest.Server) string {
	k := as.SigningKey()
	return as.JWT(oauthtest.TokenOptions{
		Subject: "mallory",
		Scopes:  []string{"test:read", "test:write"},
		Key:     oauthtest.NewKey(k.Algorithm()).WithID(k.ID()),
	})
}
