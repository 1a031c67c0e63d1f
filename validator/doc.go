// Package validator validates JWT access tokens locally (RFC 9068), as
// strictly as the JWT best current practices of RFC 8725 ask, and nearly as
// fast as the signature verification itself.
//
// A [Validator] trusts one or more issuers ([Issuer]), each with its own
// keys ([KeySet], usually a [*jwks.Set]), audiences, algorithm allowlist,
// leeway, maximum token age and scope claim. Make one with [New] and call
// [Validator.Validate]; it implements [tollgate.Validator], so every tollgate
// transport accepts it.
//
// # What is checked
//
//   - Form: at most [Config.MaxTokenBytes] bytes (checked before any
//     decoding), compact serialization with exactly three segments of
//     unpadded base64url decoded strictly, so no two spellings of a token
//     decode alike; JSON serialization and encrypted (JWE) tokens are refused.
//   - Header, decoded once: "alg" one of RS256/384/512, PS256/384/512,
//     ES256/384/512, EdDSA (HS256/384/512 only for an issuer configured with
//     an HMAC secret and no keys); "none" is never accepted, in any casing,
//     and has no option. "jwk", "jku", "x5u", "x5c", "crit", "b64", "zip",
//     "cty" and "enc" are refused: keys come only from the configuration, and
//     nothing is ever fetched from a URL a token names. "typ" must be
//     "at+jwt" unless [Issuer.InsecureAllowUntyped].
//   - JSON of header and claims, read by a strict reader of this package:
//     duplicate members (also when they differ only in case, which
//     encoding/json would conflate), invalid UTF-8, lone surrogates, trailing
//     data and registered claims of the wrong type are refused.
//   - Key and signature: the unverified "iss" only selects a configured
//     issuer; the key is the issuer's key for "kid" (or, without "kid", the
//     only one that fits the algorithm), its own "alg", type and curve must
//     fit the header's algorithm, RSA keys have at least 2048 bits, and the
//     signature is verified with crypto/rsa (PKCS #1 v1.5, PSS with a salt as
//     long as the hash), crypto/ecdsa (r||s of exact length) or
//     crypto/ed25519.
//   - Claims: "iss" exactly, "aud" containing a configured audience, "exp"
//     required, "nbf" and "iat" with a leeway, [Issuer.MaxAge], "sub",
//     [Issuer.RequiredClaims] and [Issuer.Check]. Tokens with "nonce" or
//     "at_hash" (ID tokens) and with "cnf" (sender-constrained, not bearer
//     tokens) are refused.
//
// # Errors
//
// Every rejection is a [*tollgate.Error]: [errors.Is] reports
// [tollgate.ErrInvalidToken] (and [tollgate.ErrExpired] for exp, nbf and
// maximum age), or [tollgate.ErrUnavailable] when an issuer's keys could not be
// had; its Check names the failed check ("size", "format", "header", "alg",
// "typ", "kid", "key", "signature", "iss", "aud", "exp", "nbf", "iat",
// "sub", "cnf", "claims", "jwks"). Messages never contain the token or a
// secret; a value from a token appears only quoted and cut short.
//
// The [tollgate.Principal] keeps the token's claims as JSON: read custom
// claims with [tollgate.Principal.Claims].
package validator
