package bench

import (
	"context"

	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/validator"
)

// tollgateValidator is tollgate's JWT validator for f, with its keys from a
// jwks.Set fetched from the AS (as a server would run it), and a func that
// closes the set.
func tollgateValidator(f *Fixture) (*validator.Validator, func(), error) {
	set, err := jwks.New(jwks.Config{URL: f.AS.JWKSURL()})
	if err != nil {
		return nil, nil, err
	}
	if err := set.Start(context.Background()); err != nil {
		set.Close()
		return nil, nil, err
	}
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{{
		Issuer:     f.Issuer,
		Audiences:  []string{f.Audience},
		Keys:       set,
		Algorithms: []string{f.Alg},
	}}})
	if err != nil {
		set.Close()
		return nil, nil, err
	}
	return v, func() { set.Close() }, nil
}

// tollgateCold is the validator with no cache in front: every token is
// verified.
func tollgateCold(f *Fixture) (*Instance, error) {
	v, closeFn, err := tollgateValidator(f)
	if err != nil {
		return nil, err
	}
	return validatorInstance(func(ctx context.Context, token string) error {
		_, err := v.Validate(ctx, token)
		return err
	}, closeFn), nil
}
