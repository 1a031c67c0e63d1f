package bench

import (
	"context"

	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// tollgateValidator is tollgate's JWT validator for f as a server would run
// it: the issuer and audience configured, the keys found by discovery at the
// AS and fetched before the first request. cached selects the validator's
// default (its cache in front of the checks) or DisableCache.
func tollgateValidator(f *Fixture, cached bool) (*validator.Validator, error) {
	v, err := validator.New(validator.Config{
		Issuers: []validator.Issuer{{
			Issuer:     f.Issuer,
			Audiences:  []string{f.Audience},
			Algorithms: []string{f.Alg},
		}},
		DisableCache: !cached,
	})
	if err != nil {
		return nil, err
	}
	if err := v.Start(context.Background()); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

func closer(c interface{ Close() error }) func() { return func() { _ = c.Close() } }

// tollgateValidatorSetup returns the setup of the validator with its cache
// (cached: as configured by default, a token seen before costs a SHA-256 and
// a lookup) or without it (every token is decoded and its signature
// verified).
func tollgateValidatorSetup(cached bool) func(*Fixture) (*Instance, error) {
	return func(f *Fixture) (*Instance, error) {
		v, err := tollgateValidator(f, cached)
		if err != nil {
			return nil, err
		}
		return validatorInstance(func(ctx context.Context, token string) error {
			_, err := v.Validate(ctx, token)
			return err
		}, closer(v)), nil
	}
}

// tollgateMiddleware is the net/http middleware around the cached validator,
// in front of a handler that writes 204.
func tollgateMiddleware(f *Fixture) (*Instance, error) {
	v, err := tollgateValidator(f, true)
	if err != nil {
		return nil, err
	}
	m, err := middleware.New(v, middleware.Config{})
	if err != nil {
		v.Close()
		return nil, err
	}
	inst := handlerInstance(m.Handler(okHandler()))
	inst.Close = closer(v)
	return inst, nil
}

// tollgateIntrospection is tollgate's RFC 7662 client with its defaults:
// answers cached, concurrent calls for one token shared, at most 32 calls
// in flight.
func tollgateIntrospection(f *IntrospectionFixture) (func(context.Context, string) error, func(), error) {
	c, err := introspect.New(introspect.Config{
		Issuer:       f.AS.Issuer(),
		Endpoint:     f.AS.IntrospectionURL(),
		ClientID:     oauthtest.DefaultClientID,
		ClientSecret: introspect.Secret(oauthtest.DefaultClientSecret),
		Audiences:    []string{f.AS.Audience()},
	})
	if err != nil {
		return nil, nil, err
	}
	validate := func(ctx context.Context, token string) error {
		_, err := c.Validate(ctx, token)
		return err
	}
	return validate, closer(c), nil
}
