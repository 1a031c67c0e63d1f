package main

import (
	"context"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

const oneHour = time.Hour

// newValidator returns what a production service would use for the tokens
// of as: tollgate's JWT validator, which finds the issuer's keys by
// discovery, keeps them fresh and caches its results; and a func that stops
// it.
func newValidator(as *oauthtest.Server) (tollgate.Validator, func(), error) {
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{{
		Issuer:    as.Issuer(), // loopback: plain http is allowed there only
		Audiences: []string{as.Audience()},
	}}})
	if err != nil {
		return nil, nil, err
	}
	// Load the keys before serving; a real service would keep serving (503
	// for tokens) and report readiness with v.Ready() instead.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.Start(ctx); err != nil {
		_ = v.Close()
		return nil, nil, err
	}
	return v, func() { _ = v.Close() }, nil
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
