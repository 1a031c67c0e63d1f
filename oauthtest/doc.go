// Package oauthtest provides an in-process OAuth 2.0 authorization server for
// tests and examples, used the way [net/http/httptest] is:
//
//	as := oauthtest.NewServer()
//	defer as.Close()
//	token := as.JWT(oauthtest.TokenOptions{Scopes: []string{"read"}})
//
// A [Server] serves the OpenID Connect discovery document, the RFC 8414
// metadata document (with the path-inserted form for issuers with a path), a
// JWK Set, a client credentials token endpoint with resource indicators,
// RFC 7662 introspection and RFC 7009 revocation. It mints RFC 9068 JWT access
// tokens signed with RS*, PS*, ES* or EdDSA keys and opaque tokens, with any
// claims and header members a test wants (expired, wrong audience, signed by
// a foreign [Key]...). It rotates and withdraws keys ([Server.RotateKey],
// [Server.RemoveKey]), counts requests per [Endpoint] ([Server.Requests]) and
// fails on demand ([Server.Fail]: a status, a garbage body, or a hang that
// ends when the client gives up or the server closes, so Close never blocks).
//
// # Fake time
//
// Inside a [testing/synctest] bubble, time only advances when every goroutine
// of the bubble is durably blocked, which a goroutine reading a real socket
// never is. With [Config.InMemory] the server listens on in-memory pipes
// instead; [Server.Client] is the matching HTTP client. Create the server
// inside the bubble (its clock starts at 2000-01-01, so mint tokens there
// too) and close it before the bubble ends.
package oauthtest
