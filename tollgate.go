package tollgate

import "context"

// Validator decides whether an access token is acceptable and, if it is, who
// presented it. The JWT validator, the introspection client, the cache and the
// hybrid router all implement it, and the transports (net/http, gRPC, the
// server) accept any Validator.
//
// Validate returns a non-nil [*Principal] and a nil error, or a nil Principal
// and an error for which [errors.Is] reports one of the sentinels
// ([ErrInvalidToken], [ErrExpired], [ErrUnavailable], ...). Implementations are
// safe for concurrent use. The token is never logged and never appears in the
// error.
type Validator interface {
	Validate(ctx context.Context, token string) (*Principal, error)
}

// ValidatorFunc adapts an ordinary function to the [Validator] interface.
type ValidatorFunc func(ctx context.Context, token string) (*Principal, error)

// Validate calls f(ctx, token).
func (f ValidatorFunc) Validate(ctx context.Context, token string) (*Principal, error) {
	return f(ctx, token)
}
