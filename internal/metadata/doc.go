// Package metadata reads an authorization server's metadata, the one way
// for every part of tollgate that discovers an endpoint (the JWK Set client
// its jwks_uri, the introspection client its introspection_endpoint):
//
//   - [ParseIssuer] checks a configured issuer identifier: an https URL
//     (loopback or the caller's Insecure... option excepted) without user
//     information, query or fragment (RFC 8414 section 2).
//   - [Issuer.DocumentURL] says where a document of each [Kind] is: RFC 8414
//     inserts "/.well-known/oauth-authorization-server" between the host and
//     the issuer's path ([OAuth]); OpenID Connect Discovery 1.0 appends
//     "/.well-known/openid-configuration" to it ([OpenID]). The order in
//     which they are tried, and when the next one is, is the caller's policy.
//   - [Fetcher.Endpoint] fetches one document (a bounded body, through the
//     caller's client), and [Parse] and [Document.Endpoint] decode it: a
//     strict JSON object whose "issuer" equals the configured issuer exactly
//     (RFC 8414 section 3.3: otherwise whoever serves the document chooses
//     where keys come from and where tokens go), and a named member that is
//     a URL obeying [netpolicy.CheckURL].
//
// Errors match [ErrNotObject], [ErrIssuerMismatch], [ErrNoMember],
// [netpolicy.ErrInsecureURL] and [netpolicy.ErrBodyTooLarge] with
// [errors.Is]. Their texts quote values from the document cut short, and
// never a URL's password.
package metadata
