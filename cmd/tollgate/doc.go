// Command tollgate protects HTTP APIs written in any language with OAuth 2.0
// bearer tokens, as a reverse proxy in front of them or as the authorization
// service of nginx, Traefik or Envoy. It is built on tollgate's own packages:
// the same validator, cache, RFC 6750 responses and RFC 9728 metadata as a Go
// program that imports them.
//
//	tollgate proxy        -config tollgate.yaml   # reverse proxy in front of an upstream
//	tollgate forward-auth -config tollgate.yaml   # nginx auth_request, Traefik ForwardAuth, Envoy ext_authz
//	tollgate check        -config tollgate.yaml < token   # why is this token refused?
//
// See README.md beside this file for the configuration, the proxy snippets
// and the operations endpoints.
package main
