package tollgate

import "context"

type principalKey struct{}

// NewContext returns a copy of ctx that carries p. Transports call it after a
// successful validation; handlers read the principal back with [FromContext].
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal stored in ctx by [NewContext], and
// whether there was one. A request that passed optional authentication
// without credentials has none.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// RequireScope checks, inside a handler, that the request's principal holds
// every one of scopes (at least one must be named: a call with none fails
// closed). It returns nil if so; otherwise an [*Error] of kind
// [ErrInsufficientScope] whose Scopes lists what was required (or of kind
// [ErrNoToken] if ctx has no principal). Pass the error to the transport's
// error writer (middleware.WriteError) to answer 403 with the right challenge:
//
//	if err := tollgate.RequireScope(r.Context(), "orders:write"); err != nil {
//		middleware.WriteError(w, r, err)
//		return
//	}
func RequireScope(ctx context.Context, scopes ...string) error {
	return requireScopes(ctx, scopes, Scopes.HasAll)
}

// RequireAnyScope is like [RequireScope] but is satisfied by any one of
// scopes. The error's Scopes lists all of them.
func RequireAnyScope(ctx context.Context, scopes ...string) error {
	return requireScopes(ctx, scopes, Scopes.HasAny)
}

func requireScopes(ctx context.Context, scopes []string, held func(Scopes, ...string) bool) error {
	if len(scopes) == 0 {
		// A call that names no scope is a mistake; failing open would let
		// every token through.
		return &Error{Kind: ErrInsufficientScope, Check: "scope", Detail: "no scope named in the check"}
	}
	p, ok := FromContext(ctx)
	if !ok {
		return &Error{Kind: ErrNoToken, Check: "scope"}
	}
	if held(p.Scopes(), scopes...) {
		return nil
	}
	return &Error{Kind: ErrInsufficientScope, Check: "scope", Scopes: NewScopes(scopes...).Strings()}
}
