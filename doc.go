// Package tollgate holds the types that every part of tollgate shares: the
// [Validator] interface, the immutable [Principal] it produces, [Scopes], the
// sentinel errors and [*Error], the [Observer] hooks and bearer-token parsing.
//
// tollgate protects an API as an OAuth 2.0 resource server. For each request it
// extracts the bearer token (RFC 6750), validates it - locally as a JWT access
// token (RFC 9068) against the issuer's JWK Set, or remotely by token
// introspection (RFC 7662) - and puts the resulting [Principal] into the request
// context, where handlers read it with [FromContext] and check scopes with
// [RequireScope].
//
// The root package imports only the standard library. The work is done by
// sub-packages, each behind the [Validator] interface:
//
//   - jwks: remote JSON Web Key Sets with background refresh, rate-limited
//     refetch on an unknown key ID and last-good keys during outages.
//   - validator: local JWT access-token validation (RFC 9068, RFC 8725).
//   - introspect: an RFC 7662 introspection client for opaque tokens.
//   - cache: the cache that wraps any Validator (positive and negative entries,
//     coalescing of concurrent lookups, bounded size).
//   - middleware: net/http integration with RFC 6750 error responses and
//     RFC 9728 protected resource metadata.
//   - oauthtest: an in-process authorization server for tests, used the way
//     net/http/httptest is.
//
// [Hybrid], in this package, composes the two kinds of validation: JWTs of the
// configured issuers are validated locally (and never sent to the
// authorization server, even when they fail), every other token by
// introspection.
//
// # Errors
//
// Every rejection ends in one of the sentinels [ErrNoToken], [ErrInvalidRequest],
// [ErrInvalidToken] (and its refinement [ErrExpired]), [ErrInsufficientScope] and
// [ErrUnavailable]; callers branch with [errors.Is]. The [*Error] that carries the
// sentinel also names the check that failed, for logs and for the HTTP and gRPC
// transports. No error text ever contains a token or a secret.
package tollgate
