package main

import (
	"context"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// newValidator validates the JWT access tokens of as for the audience
// resource: the resource identifier the client names in its token request
// (RFC 8707), so a token minted for another resource is refused. The keys are
// found through the issuer's metadata, as in production.
func newValidator(ctx context.Context, as *oauthtest.Server, resource string) (tollgate.Validator, func(), error) {
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{{
		Issuer:    as.Issuer(),
		Audiences: []string{resource},
	}}})
	if err != nil {
		return nil, nil, err
	}
	if err := v.Start(ctx); err != nil {
		v.Close()
		return nil, nil, err
	}
	return v, func() { v.Close() }, nil
}
