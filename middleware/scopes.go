package middleware

import (
	"fmt"
	"net/http"

	"github.com/tollgate/tollgate"
)

// RequireScopes returns a middleware that lets a request through only if its
// principal holds every one of scopes. Put it behind [Middleware.Handler],
// per route:
//
//	mux.Handle("POST /orders", mw.Handler(middleware.RequireScopes("orders:write")(createOrder)))
//
// A principal without them is answered 403 insufficient_scope, with the
// scope attribute listing scopes; a request without a principal (an
// anonymous one of an Optional middleware) 401. The challenge carries the
// realm and resource metadata of the Middleware in front.
//
// It panics, like [http.ServeMux.Handle] with a bad pattern, if scopes is
// empty or a name is not an RFC 6749 scope-token (it would be unsafe in the
// WWW-Authenticate header): that is a bug in the program, found at start-up.
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	required := mustScopes("RequireScopes", scopes)
	return scopeMiddleware(func(s tollgate.Scopes) bool { return s.HasAll(required...) }, required)
}

// RequireAnyScope is like [RequireScopes] but is satisfied by any one of
// scopes. The scope attribute of its 403 lists all of them.
func RequireAnyScope(scopes ...string) func(http.Handler) http.Handler {
	required := mustScopes("RequireAnyScope", scopes)
	return scopeMiddleware(func(s tollgate.Scopes) bool { return s.HasAny(required...) }, required)
}

func mustScopes(fn string, scopes []string) []string {
	if len(scopes) == 0 {
		panic("middleware: " + fn + " needs at least one scope")
	}
	if err := checkScopes(scopes); err != nil {
		panic(fmt.Sprintf("middleware: %s: %v", fn, err))
	}
	return tollgate.NewScopes(scopes...).Strings()
}

func scopeMiddleware(ok func(tollgate.Scopes) bool, required []string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("middleware: nil handler")
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, found := tollgate.FromContext(r.Context())
			switch {
			case !found:
				WriteError(w, r, &tollgate.Error{Kind: tollgate.ErrNoToken, Check: "scope", Detail: "no principal"})
			case !ok(p.Scopes()):
				// A fresh slice: *tollgate.Error has exported fields.
				WriteError(w, r, &tollgate.Error{Kind: tollgate.ErrInsufficientScope, Check: "scope", Scopes: append([]string(nil), required...)})
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}
