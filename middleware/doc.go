// Package middleware protects net/http handlers with OAuth 2.0 bearer tokens
// (RFC 6750), with any router whose middleware is a
// func(http.Handler) http.Handler: http.ServeMux, chi, gorilla/mux...
//
// [New] takes any [tollgate.Validator] (the JWT validator, the introspection
// client, a cache around either) and a [Config]; [Middleware.Handler] wraps a
// handler. For each request it extracts the token - from the Authorization
// header, and only if enabled from a form body or the query - validates it,
// runs [Config.Check], and calls the handler with the [tollgate.Principal] in
// the request context ([tollgate.FromContext]). [RequireScopes] and
// [RequireAnyScope] guard routes by scope; inside a handler,
// [tollgate.RequireScope] and [WriteError] do the same in one line.
//
// # Responses
//
// Every refusal is answered as RFC 6750 section 3 says, with WWW-Authenticate
// attributes in the order realm, error, error_description, scope,
// resource_metadata (realm only when configured, resource_metadata only when
// [Config.ResourceMetadataURL] is set):
//
//	no credentials, another scheme (Basic)   401  Bearer realm="R", resource_metadata="..."
//	empty or ill-formed token, two           400  Bearer realm="R", error="invalid_request", error_description="..."
//	  Authorization headers, a token in
//	  more than one place
//	invalid or expired token                 401  Bearer realm="R", error="invalid_token", error_description="...", resource_metadata="..."
//	missing scope                            403  Bearer realm="R", error="insufficient_scope", scope="a b", resource_metadata="..."
//	tollgate.ErrUnavailable                  503  no challenge; Retry-After
//
// error_description is always one of a few fixed texts; nothing from the
// token or the request is echoed. [Config.ErrorHandler] renders the body
// (RFC 9457 problem details, say) while the status and headers stay as
// above. [WriteError] writes the same answers from inside a handler, with the
// realm and metadata URL of the Middleware in front of it.
//
// # Token locations
//
// RFC 6750 allows three; a client must use one. The Authorization header is
// always read. [Config.AllowFormToken] adds the access_token parameter of
// POST application/x-www-form-urlencoded bodies (read up to
// [Config.MaxFormBytes] and given back to the handler without the token);
// [Config.AllowQueryToken] the access_token query parameter, which is
// removed from r.URL and r.RequestURI before the handler runs. A token in
// the header and the query is refused even when query tokens are off; a form
// or query token alone, when not enabled, is no credential.
//
// # Protected resource metadata
//
// [MetadataHandler] serves an RFC 9728 [ResourceMetadata] document at
// /.well-known/oauth-protected-resource and at the path-inserted form for a
// resource with a path. Its [MetadataHandler.URL], put in
// [Config.ResourceMetadataURL], goes into every 401 and 403 challenge, which
// is how clients such as MCP hosts find the authorization server. Both come
// from configuration, never from the request's Host or X-Forwarded-*.
//
// # Observing
//
// [Config.Observer] gets one accept or reject event per request;
// [tollgate.NewLogObserver] turns them into log/slog records and costs a few
// nanoseconds when its level is disabled. Validators report their own events
// (key fetches, cache hits) through their own configs.
package middleware
