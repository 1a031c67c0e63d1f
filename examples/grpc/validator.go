package main

import (
	"context"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

const oneHour = time.Hour

// newValidator returns what a production service would use for the tokens
// of as: the server's keys fetched and kept fresh by a jwks.Set, tollgate's
// JWT validator, and the cache in front of it; and a func that stops them.
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
	// A cache in front of the validator makes a token seen again cost a hash
	// and a map read; the generation drops entries when a key is withdrawn.
	c, err := cache.New(v, cache.Config{Name: "jwt", Generation: v.Generation})
	if err != nil {
		_ = keys.Close()
		return nil, nil, err
	}
	return c, func() { _ = c.Close(); _ = v.Close(); _ = keys.Close() }, nil
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
