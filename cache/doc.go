// Package cache remembers the results of a [tollgate.Validator], so that a
// token seen again costs a hash and a map lookup instead of a signature check
// or a round trip to the authorization server. A [Cache] wraps any Validator
// (the JWT validator, the introspection client, a user's own) and is one
// itself:
//
//	c, err := cache.New(v, cache.Config{Name: "jwt", Generation: keys.Generation})
//	if err != nil { ... }
//	defer c.Close()
//	p, err := c.Validate(ctx, token)
//
// # What is cached, and for how long
//
// An accepted token's [tollgate.Principal] is served until the earliest of
// the token's expiry (ExpiresAt), [Config.MaxTTL] (default 5 minutes) and
// the bound the wrapped Validator gives through [Config.Expiry] (the JWT
// validator's: the end of an issuer's maximum token age), checked against
// [Config.Now] on every lookup: an entry is never served at or after the
// token's exp, whether or not the sweeper has removed it yet. A rejection -
// an error matching tollgate.ErrInvalidToken, which includes
// tollgate.ErrExpired - is served for [Config.NegativeTTL] (default 10
// seconds), even one that time lifts (a token not yet valid): such a token
// is refused for at most NegativeTTL after it becomes valid. Never cached: tollgate.ErrUnavailable (no decision was made),
// context errors, and a rejection for an unknown key ID (Check "kid"), since
// the key may arrive with the next refetch of the key set. A
// [Config.Generation] function, such as a key set's, makes every entry
// stored before a key was withdrawn stop being served at once.
//
// Checks that depend on the request rather than the token (required scopes,
// say) belong after the cache, on every request.
//
// # Revocation latency
//
// A cache trades freshness for speed: a token revoked at the authorization
// server, or a user disabled there, is still accepted until its entry
// expires - up to MaxTTL after it was last validated. Locally validated JWTs
// cannot be revoked anyway before their exp; for introspected (opaque)
// tokens, MaxTTL is the revocation latency, which is why the introspection
// client chooses a shorter one (2 minutes). Lower MaxTTL where revocation
// must take effect sooner, at the price of more validations; a negative
// MaxTTL caches no accepted token.
//
// # Coalescing, caps and memory
//
// Concurrent misses for one token share a single call to the wrapped
// Validator. That call runs with its own context (the first caller's values,
// not its cancellation, plus [Config.CallTimeout], default 10 seconds), so a
// caller that gives up returns at once with tollgate.ErrUnavailable (Check
// "context") while the call goes on for the others.
//
// Accepted and rejected tokens are held in separate, capped sets
// ([Config.MaxEntries], default 100,000; [Config.MaxNegativeEntries], default
// 10,000). When a set is full, a new entry evicts an old one of the same kind
// (CLOCK: entries served since the hand last passed are spared once), so a
// flood of invalid tokens can neither push out accepted ones nor grow memory
// without bound. Entries are keyed by the SHA-256 of the cache's
// [Config.Namespace], a zero byte and the token: the raw token is not kept.
// Tokens longer than [MaxTokenBytes] bypass the cache.
//
// Entries live in a [Store]; the default keeps them in memory, private to
// the Cache, in go-cache maps sharded by key, each shard with a lock-free
// slot for its hottest entry, so that parallel hits - on many tokens or on
// one - do not meet on one lock. A Store of your own (one shared by several
// processes, say) requires a Namespace: Caches with different namespaces
// never serve each other's answers, Caches with the same one share them, as
// replicas of one API may. The go-caches run no janitor of their own: a sweeper goroutine
// frees expired entries every [Config.SweepInterval] (default one minute),
// and [Cache.Close] stops it.
package cache
