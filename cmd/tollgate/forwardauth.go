package main

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/tollgate/tollgate"
)

// The headers that carry the original request to a forward-auth service.
const (
	hdrOriginalURI     = "X-Original-Uri"    // nginx: proxy_set_header X-Original-URI $request_uri
	hdrOriginalMethod  = "X-Original-Method" // nginx: proxy_set_header X-Original-Method $request_method
	hdrForwardedURI    = "X-Forwarded-Uri"   // Traefik ForwardAuth
	hdrForwardedMethod = "X-Forwarded-Method"
	hdrForwardedHost   = "X-Forwarded-Host"
	hdrForwardedProto  = "X-Forwarded-Proto"
)

// forwardAuth is the handler of `tollgate forward-auth`: it answers a proxy's
// authorization subrequest about an original request, 200 with the identity
// headers to allow it, or the refusal the proxy passes on (401 and 403 with
// their challenges, 503 with Retry-After). It never reads a body.
type forwardAuth struct {
	a      *app
	m      *metrics
	logger *slog.Logger
	mode   string
	prefix string // envoy: path_prefix
	mdURL  string // the RFC 9728 document's URL, "" without one
}

func newForwardAuth(a *app, m *metrics) (*forwardAuth, error) {
	f := &forwardAuth{a: a, m: m, logger: a.logger, mode: a.cfg.ForwardAuth.Mode, prefix: a.cfg.ForwardAuth.PathPrefix}
	if a.metadata != nil {
		// Quotable: a.handlers passes it to middleware.New, which refuses
		// one that is not.
		f.mdURL = a.metadata.URL()
	}
	if err := a.handlers(http.HandlerFunc(f.allow)); err != nil {
		return nil, err
	}
	return f, nil
}

// ServeHTTP decides on the original request described by r.
func (f *forwardAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method, target, ok := f.original(r)
	if !ok {
		// Not a check request: the metadata document, if asked for here,
		// or a proxy that does not send what its mode promises.
		if np, err := normalizePath(r.URL.EscapedPath()); err == nil && f.a.isMetadataPath(np) {
			f.a.metadata.ServeHTTP(w, r)
			return
		}
		f.m.count(outcomeBadForward)
		f.logger.LogAttrs(r.Context(), slog.LevelWarn, "tollgate: forward-auth request without the original method and URI; check the proxy configuration",
			slog.String("mode", f.mode))
		plainError(w, http.StatusInternalServerError)
		return
	}
	if name, forged := f.a.identity.forged(r.Header); forged {
		f.m.count(outcomeForgedHeader)
		f.logger.LogAttrs(r.Context(), slog.LevelWarn, "tollgate: request refused: it carries a variant of an identity header",
			slog.String("header", name), slog.String("method", method))
		plainError(w, http.StatusForbidden)
		return
	}
	if name, found := f.a.overrides.in(r.Header, false); found {
		// The proxy passes the client's headers on to the upstream, which
		// would run another method or serve another path than the one
		// judged here: refuse, as nothing here can remove them.
		f.m.count(outcomeOverrideHeader)
		f.logger.LogAttrs(r.Context(), slog.LevelWarn, "tollgate: request refused: it carries a header that overrides its method or path",
			slog.String("header", name), slog.String("method", method))
		plainError(w, http.StatusForbidden)
		return
	}
	np, err := normalizePath(target)
	if err != nil {
		// 403, not 400: nginx turns any status but 2xx, 401 and 403 into 500.
		f.m.count(outcomeBadPath)
		f.logger.LogAttrs(r.Context(), slog.LevelInfo, "tollgate: path refused",
			slog.String("method", method), slog.String("reason", err.Error()))
		plainError(w, http.StatusForbidden)
		return
	}
	if f.a.isMetadataPath(np) && (method == http.MethodGet || method == http.MethodHead) {
		// The metadata document is public: let the proxy serve it. Only
		// GET and HEAD: a proxy that does not route this path to tollgate
		// (Traefik's example) would hand a POST to the upstream, which may
		// do anything with it; other methods go through the rules.
		f.allow(w, r)
		return
	}
	rl := f.a.ruleFor(r.Context(), f.m, method, np,
		slog.String("host", r.Header.Get(hdrForwardedHost)), slog.String("proto", r.Header.Get(hdrForwardedProto)))
	if rl == nil {
		plainError(w, http.StatusForbidden)
		return
	}
	if f.mode == modeNginx {
		w = &nginxWriter{ResponseWriter: w, metadataURL: f.mdURL}
	}
	rl.handler.ServeHTTP(w, r)
}

// nginxWriter answers 401 where the middleware answers 400 invalid_request
// (a malformed bearer token, two Authorization headers). nginx's
// auth_request turns any status but 2xx, 401 and 403 into 500, so behind
// nginx a client's mistake would look like an outage (the README's
// error_page makes it a 503 with an empty Retry-After). A 401 passes with
// its WWW-Authenticate, so the client still reads error="invalid_request";
// RFC 6750 section 3.1 recommends 400 for it with a SHOULD, which nginx
// leaves no way to follow. 403, the answer to a refused path, would not do
// here: nginx drops its challenge unless auth_request_set carries it, and
// it says "not allowed" rather than "send a proper token". The challenge
// gains resource_metadata, as every 401 does; the body, which nginx
// discards, is left as written. Metrics and logs still say
// invalid_request.
type nginxWriter struct {
	http.ResponseWriter
	metadataURL string // "" without resource.identifier
	wrote       bool
}

func (nw *nginxWriter) WriteHeader(code int) {
	if nw.wrote {
		return
	}
	nw.wrote = true
	h := nw.Header()
	if c := h.Get("WWW-Authenticate"); code == http.StatusBadRequest && strings.Contains(c, `error="invalid_request"`) {
		code = http.StatusUnauthorized
		if nw.metadataURL != "" {
			// Last, as in every challenge: realm, error,
			// error_description, scope, resource_metadata.
			h.Set("WWW-Authenticate", c+`, resource_metadata="`+nw.metadataURL+`"`)
		}
	}
	nw.ResponseWriter.WriteHeader(code)
}

func (nw *nginxWriter) Write(b []byte) (int, error) {
	if !nw.wrote {
		nw.WriteHeader(http.StatusOK)
	}
	return nw.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (nw *nginxWriter) Unwrap() http.ResponseWriter { return nw.ResponseWriter }

// original returns the method and request target of the request the proxy
// asks about, as the mode's proxy sends them. Missing or repeated headers
// are not guessed at.
func (f *forwardAuth) original(r *http.Request) (method, target string, ok bool) {
	one := func(name string) (string, bool) {
		v := r.Header.Values(name)
		if len(v) != 1 || v[0] == "" {
			return "", false
		}
		return v[0], true
	}
	var okM, okT bool
	switch f.mode {
	case modeNginx:
		method, okM = one(hdrOriginalMethod)
		target, okT = one(hdrOriginalURI)
	case modeTraefik:
		method, okM = one(hdrForwardedMethod)
		target, okT = one(hdrForwardedURI)
	case modeEnvoy:
		// Envoy's check request is the original request (without body),
		// its path prefixed with path_prefix.
		method, okM = r.Method, true
		target, okT = r.RequestURI, r.RequestURI != ""
		if f.prefix != "" {
			// Envoy sends path_prefix + path, and every path starts with
			// "/": "/authz" + "/orders", "/authz/" + "/orders".
			rest, found := strings.CutPrefix(target, f.prefix)
			switch {
			case !found:
				return "", "", false
			case strings.HasPrefix(rest, "/"):
			case strings.HasSuffix(f.prefix, "/"):
				rest = "/" + rest
			default:
				return "", "", false // "/authzorders" is not under "/authz"
			}
			target = rest
		}
	}
	if !okM || !okT || !validMethod(method) {
		return "", "", false
	}
	return method, target, true
}

// allow answers 200 with the identity headers (all of them, empty where the
// token has no value, so that the proxy's copy replaces any sent by the
// client).
func (f *forwardAuth) allow(w http.ResponseWriter, r *http.Request) {
	p, ok := tollgate.FromContext(r.Context())
	if !ok {
		f.m.count(outcomeAnonymous)
	}
	h := w.Header()
	f.a.identity.set(h, p, true)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
