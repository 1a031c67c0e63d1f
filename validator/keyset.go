package validator

import (
	"context"

	"github.com/tollgate/tollgate/jwks"
)

// KeySet is where an issuer's verification keys come from. [*jwks.Set]
// implements it; so can a user's own source. Implementations are safe for
// concurrent use and fast on the hot path: Lookup of a known key ID is a map
// read, without allocation.
type KeySet interface {
	// Lookup returns the keys whose ID is kid (usually one; several only when
	// a set reuses an ID for keys of different types). The slice and the keys
	// are shared: callers must not modify them.
	//
	// When no key has that ID, Lookup may refetch the set (rate-limited) and
	// then returns an error that matches:
	//   - tollgate.ErrInvalidToken (Check "kid") when the ID is still unknown
	//     after a successful refetch, or while refetching is rate-limited and
	//     the last fetch succeeded;
	//   - tollgate.ErrUnavailable (Check "jwks") when the keys were never
	//     loaded, the refetch failed, or refetching is rate-limited after a
	//     failed fetch: during an outage a token from a rotated key must not
	//     be called forged.
	Lookup(ctx context.Context, kid string) ([]*jwks.Key, error)

	// Keys returns every key currently held, for tokens without "kid". It
	// returns tollgate.ErrUnavailable if no keys were ever loaded.
	Keys(ctx context.Context) ([]*jwks.Key, error)
}

// generationer is implemented by key sets whose keys can be withdrawn (a
// [*jwks.Set]): the number changes whenever a refresh removes or replaces a
// key, so that cached validation results made with such a key are dropped.
type generationer interface {
	Generation() uint64
}
