// Package netpolicy holds the network rules that every part of tollgate that
// fetches something obeys (DESIGN.md, "Network rules"), so that the JWK Set
// client and the introspection client enforce them the same way:
//
//   - [CheckURL]: configured URLs are https, except for loopback hosts
//     ([IsLoopback]: localhost, *.localhost, 127.0.0.0/8, ::1); anything else
//     needs the caller's Insecure... option.
//   - [Client] wraps a caller's [net/http.Client] with a [RedirectPolicy]
//     without modifying it: [FollowSecure] for discovery and JWK Sets (only
//     to https, or loopback to loopback), [NoRedirects] for introspection,
//     where a redirect would resend the token and our credentials.
//   - [NewClient] is the default client, with timeouts on every wait.
//   - [ReadBody] and [ReadLimited] bound every body read; [Get] is the one
//     bounded GET of a document (a JWK Set, a metadata document), whose
//     errors name the URL [Redacted].
package netpolicy
