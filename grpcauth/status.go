package grpcauth

import (
	"errors"
	"strings"

	"github.com/tollgate/tollgate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// StatusError returns the gRPC status error that answers err, the way the
// interceptors answer a rejection, so that a handler that checks a scope of
// its own fails like the interceptor would:
//
//	if err := tollgate.RequireScope(ctx, "orders:refund"); err != nil {
//		return nil, grpcauth.StatusError(err)
//	}
//
// err is classified with [tollgate.AsError]:
//
//	tollgate.ErrNoToken, ErrInvalidToken, ErrExpired  codes.Unauthenticated
//	tollgate.ErrInvalidRequest                        codes.InvalidArgument
//	tollgate.ErrInsufficientScope                     codes.PermissionDenied
//	tollgate.ErrUnavailable                           codes.Unavailable
//
// (an error that is none of these counts as an invalid token). The message is
// made of fixed text, for InvalidArgument and PermissionDenied the name of the
// failed check, and for insufficient scope the scopes required (a refused or
// expired token is not told which check failed: that goes to the Observer); it never quotes err's own text, which a custom
// validator may have filled with anything. StatusError(nil) is nil.
func StatusError(err error) error {
	if err == nil {
		return nil
	}
	return statusError(tollgate.AsError(err))
}

func statusError(e *tollgate.Error) error {
	code, text := classify(e.Kind)
	var b strings.Builder
	b.WriteString("tollgate: ")
	b.WriteString(text)
	// Which check refused a token is for the server's logs (the Observer),
	// not for the caller, as over HTTP: a prober learns nothing from it. A
	// request refused before any token check (metadata, method policy)
	// says what was wrong with it.
	if code != codes.Unauthenticated && code != codes.Unavailable && isSafeCheck(e.Check) {
		b.WriteString(" (")
		b.WriteString(e.Check)
		b.WriteString(")")
	}
	if code == codes.PermissionDenied {
		sep := ": requires "
		for _, s := range e.Scopes {
			if checkScope(s) == nil {
				b.WriteString(sep)
				b.WriteString(s)
				sep = " "
			}
		}
	}
	return status.Error(code, b.String())
}

// classify maps a sentinel to its status code and fixed message.
func classify(kind error) (codes.Code, string) {
	switch {
	case kind == nil:
	case errors.Is(kind, tollgate.ErrNoToken):
		return codes.Unauthenticated, "no bearer token"
	case errors.Is(kind, tollgate.ErrInvalidRequest):
		return codes.InvalidArgument, "malformed authorization metadata"
	case errors.Is(kind, tollgate.ErrExpired):
		return codes.Unauthenticated, "token expired"
	case errors.Is(kind, tollgate.ErrInvalidToken):
		return codes.Unauthenticated, "invalid token"
	case errors.Is(kind, tollgate.ErrInsufficientScope):
		return codes.PermissionDenied, "permission denied"
	case errors.Is(kind, tollgate.ErrUnavailable):
		return codes.Unavailable, "token validation unavailable"
	}
	// Fail closed on a kind we do not know.
	return codes.Unauthenticated, "invalid token"
}

// isSafeCheck reports whether a Check name may go into a status message:
// only names of tollgate's own vocabulary do. A custom validator can put
// anything in Check, the token included, and a character filter would let a
// short opaque token through.
func isSafeCheck(check string) bool {
	switch check {
	case "authorization", "format", "size", "header", "alg", "typ", "kid", "key",
		"signature", "iss", "aud", "exp", "nbf", "iat", "sub", "cnf", "claims",
		"scope", "active", "jwks", "introspection", "context", "method", "validator":
		return true
	}
	return false
}
