// Package jwks holds JSON Web Key Sets (RFC 7517) for verifying JWT access
// tokens: fetched from a URL or found through an issuer's metadata (OpenID
// Connect discovery or RFC 8414), kept fresh in the background, and served
// from memory on the hot path. A [Set] is one key set from one source; the
// validator maps issuers to sets.
//
//	set, err := jwks.New(jwks.Config{Issuer: "https://login.example.com/"})
//	...
//	defer set.Close()
//	if err := set.Start(ctx); err != nil {
//		log.Print(err) // keeps retrying: Ready() flips when keys arrive
//	}
//	keys, err := set.Lookup(ctx, kid)
//
// What a Set guarantees:
//
//   - [Set.Lookup] of a known key ID is a map read on an immutable snapshot,
//     without locks or allocation.
//   - An unknown key ID refetches the set at once, at most once per
//     [Config.MinRefetchInterval]: concurrent misses share one fetch, no
//     caller waits longer than that fetch, and inside the interval a miss is
//     answered at once, never by waiting for a limiter. A flood of tokens
//     with random key IDs costs the authorization server one request per
//     interval.
//   - Still unknown after a successful fetch: [tollgate.ErrInvalidToken]
//     (Check "kid", which caches do not keep). The fetch failed or keys were
//     never loaded: [tollgate.ErrUnavailable] (Check "jwks"), so that a key
//     rotation during an outage does not turn new tokens into invalid ones.
//   - Last-good keys: a failed fetch (network error, non-200 status, a body
//     over [Config.MaxBodyBytes], not a JWK Set, more than [Config.MaxKeys]
//     members, no usable key) never replaces the keys held. A bad member
//     (unparsable, not for signatures, unsupported type or algorithm, RSA
//     under 2048 bits, private key material) is skipped and reported, the
//     others are used ([ParseSet]). Keys stay until a successful fetch no
//     longer lists them, or until [Config.StaleLimit] after the last success.
//   - Background refresh honours Cache-Control max-age within
//     [Config.MinRefreshInterval] and [Config.MaxRefreshInterval]; a forced
//     refetch sends Cache-Control: no-cache. [Set.Start] warms up; a server
//     may start while the authorization server is down: the set retries
//     with backoff and [Set.Ready] reports when keys are there.
//   - [Set.Generation] changes when a fetch removes or replaces a key, so a
//     cache of validated tokens drops what a withdrawn key vouched for.
//   - Network rules: https only, except loopback hosts (or
//     [Config.InsecureAllowHTTP]); redirects only to https; every body read
//     bounded; every fetch under [Config.Timeout]; the caller's
//     [Config.HTTPClient] is used but never modified.
//   - Events go to [Config.Observer]: OnKeyFetch (with the key IDs added
//     and removed), OnKeyFetchFailure, OnKeySkipped. With none configured
//     they go to [Config.Logger], failures and skipped keys as warnings.
//   - [Set.Close] stops every goroutine the set started.
//
// [Key] is a verification key already converted to its crypto/* form; build
// static sets from [NewKey] with [Config.Keys].
package jwks
