// Package introspect validates opaque access tokens by asking the
// authorization server: OAuth 2.0 Token Introspection (RFC 7662). A [Client]
// implements [tollgate.Validator]; an active token becomes a
// [tollgate.Principal] of kind [tollgate.KindOpaque] (sub, client_id,
// username, scope, aud, iss, exp, iat, jti), whose Claims are the whole
// introspection answer.
//
//	c, err := introspect.New(introspect.Config{
//		Issuer:       "https://as.example.com", // the endpoint comes from its metadata
//		ClientID:     "orders-api",
//		ClientSecret: introspect.Secret(os.Getenv("INTROSPECTION_SECRET")),
//		Audiences:    []string{"https://orders.example.com"},
//	})
//
// # Trust
//
// The endpoint is configured ([Config.Endpoint]) or read from the issuer's
// metadata, whose "issuer" must match [Config.Issuer]. It must be https
// (loopback hosts excepted) unless [Config.InsecureAllowHTTP], and carry no
// user information: credentials go in [Config.ClientSecret] or
// [Config.ClientKey], never in a URL that logs and events print. Redirects are
// never followed: they would resend the token and our credentials. Answers are
// size-limited, every call has a timeout, and at most [Config.MaxConcurrent]
// calls are in flight. The client authenticates with client_secret_basic
// (default), client_secret_post or private_key_jwt ([AuthMethod]); the secret
// is a [Secret] and the key a [ClientKey], which never print their value.
//
// An answer is read strictly: one JSON object, no duplicate members,
// "active" must be the JSON literal true. An active answer is still checked:
// its "exp" must be in the future (no leeway), "nbf" not in the future, "iss"
// as configured, and "aud" must name one of [Config.Audiences], which is
// required unless [Config.InsecureAnyAudience] (logged at construction, like
// every Insecure... option). A sender-constrained token ("cnf", or a
// "token_type" other than Bearer, such as DPoP) is refused, since it is
// presented here as a plain bearer token.
//
// # Errors
//
// Inactive, revoked, expired or otherwise refused tokens match
// [tollgate.ErrInvalidToken] (or [tollgate.ErrExpired]), with Check naming
// the reason ("active", "exp", "aud", "cnf"...). When no decision can be made
// - the server is down, slow, answers 5xx or garbage, or refuses our own
// credentials - the error matches [tollgate.ErrUnavailable] (HTTP 503), never
// a 401 for a token nobody judged. Refused credentials (401 or 403 from the
// server) are reported with [tollgate.IntrospectEvent].CredentialsRejected,
// which [tollgate.NewLogObserver] logs at error level: the configuration is
// wrong and every opaque token fails until it is fixed. With no
// [Config.Observer], that observer is the default, writing to
// [Config.Logger].
//
// # Caching and revocation latency
//
// A Client caches answers through package cache ([Config.Cache]), so that a
// busy token costs one call per MaxTTL instead of one per request, and
// concurrent requests for one token share one call. An active answer is
// served until the earlier of the token's "exp" and MaxTTL (default
// [DefaultCacheMaxTTL], 2 minutes); a rejection for NegativeTTL (default
// 10s), with separate caps for both; [tollgate.ErrUnavailable] is never
// cached. The price is revocation latency: a token revoked at the
// authorization server is still accepted for up to MaxTTL. Lower it where
// revocation must bite sooner; [Config.DisableCache] turns the cache off.
package introspect
