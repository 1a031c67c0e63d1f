package tollgate

import (
	"context"
	"errors"
	"strings"
)

// The sentinel errors. Every error returned by a tollgate [Validator] or
// transport satisfies [errors.Is] for exactly one of them (and, for
// [ErrExpired], also for [ErrInvalidToken]).
var (
	// ErrNoToken means the request carried no bearer token at all (no
	// Authorization header, or one with another scheme such as Basic).
	// HTTP: 401 with a challenge that has no error code.
	ErrNoToken error = &sentinel{msg: "no bearer token"}

	// ErrInvalidRequest means the request carried a token in a form RFC 6750
	// does not allow: an empty or ill-formed token, two Authorization headers,
	// or a token in more than one place. HTTP: 400 invalid_request.
	ErrInvalidRequest error = &sentinel{msg: "invalid request"}

	// ErrInvalidToken means the token is not acceptable: bad signature, wrong
	// issuer or audience, unknown key, malformed, revoked, inactive...
	// HTTP: 401 invalid_token.
	ErrInvalidToken error = &sentinel{msg: "invalid token"}

	// ErrExpired means the token's lifetime is over (or has not begun). It is
	// a refinement of ErrInvalidToken: errors.Is(ErrExpired, ErrInvalidToken)
	// is true. HTTP: 401 invalid_token.
	ErrExpired error = &sentinel{msg: "token expired", parent: ErrInvalidToken}

	// ErrInsufficientScope means the token is valid but lacks a required
	// scope. HTTP: 403 insufficient_scope.
	ErrInsufficientScope error = &sentinel{msg: "insufficient scope"}

	// ErrUnavailable means no decision could be made: keys were never loaded,
	// the authorization server is unreachable or refuses our credentials, or a
	// refetch for an unknown key ID failed. It is never cached.
	// HTTP: 503 with Retry-After.
	ErrUnavailable error = &sentinel{msg: "token validation unavailable"}
)

type sentinel struct {
	msg    string
	parent error
}

func (s *sentinel) Error() string { return s.msg }

// Is lets ErrExpired match ErrInvalidToken.
func (s *sentinel) Is(target error) bool { return s.parent != nil && target == s.parent }

// Error is the error returned for every rejection. It records which class of
// failure occurred (Kind, one of the sentinels), which check failed, and for
// [ErrInsufficientScope] which scopes were required.
//
// [errors.Is] matches an *Error against its Kind (and its cause, Err), so
// callers branch on the sentinels and read the details with [errors.As].
//
// Neither field ever holds the token or a secret: Detail is written by tollgate
// from fixed text and values of its own configuration or of the token's
// already-decoded claims, never from the raw token.
type Error struct {
	// Kind is the sentinel: ErrNoToken, ErrInvalidRequest, ErrInvalidToken,
	// ErrExpired, ErrInsufficientScope or ErrUnavailable.
	Kind error

	// Check names the check that failed, in the vocabulary of the claims and
	// headers involved: "authorization", "format", "size", "header", "alg",
	// "typ", "kid", "key", "signature", "iss", "aud", "exp", "nbf", "iat",
	// "sub", "cnf", "claims", "scope", "active", "jwks", "introspection"...
	Check string

	// Scopes lists the scopes that were required, for ErrInsufficientScope.
	Scopes []string

	// Detail is a short human explanation, safe to log (for example
	// "expired 3m0s ago" or "audience not accepted").
	Detail string

	// Err is the underlying cause, if any (a network error, say). It is
	// reported by Unwrap; it never wraps an error from a JOSE library, whose
	// text can quote the token.
	Err error
}

// Error returns "tollgate: <kind> (<check>): <detail>", omitting what is empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("tollgate: ")
	if e.Kind != nil {
		b.WriteString(e.Kind.Error())
	} else {
		b.WriteString("error")
	}
	if e.Check != "" {
		b.WriteString(" (")
		b.WriteString(e.Check)
		b.WriteString(")")
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if len(e.Scopes) > 0 {
		b.WriteString(": requires ")
		b.WriteString(strings.Join(e.Scopes, " "))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the Kind and the cause, so that errors.Is matches both.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// AsError returns err as an [*Error], classifying errors that are not one
// already, so that transports can always answer with a definite status:
//
//   - nil stays nil;
//   - an *Error anywhere in the chain is returned as is;
//   - an error that matches a sentinel gets that Kind;
//   - a context cancellation or deadline becomes ErrUnavailable;
//   - anything else becomes ErrInvalidToken (fail closed: a custom validator
//     that returns a plain error has rejected the token).
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) && e.Kind != nil {
		return e
	}
	for _, s := range []error{ErrNoToken, ErrInvalidRequest, ErrExpired, ErrInvalidToken, ErrInsufficientScope, ErrUnavailable} {
		if errors.Is(err, s) {
			return &Error{Kind: s, Err: err}
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: ErrUnavailable, Check: "context", Err: err}
	}
	return &Error{Kind: ErrInvalidToken, Err: err}
}

// RedactToken returns e, or, when e's text quotes token - which only a custom
// validator's error can do, tollgate's own never do - a copy that keeps Kind,
// Check and Scopes but none of the text, so that the token reaches no
// observer, log or response. Transports call it on every rejection before
// reporting it.
func RedactToken(e *Error, token string) *Error {
	if e == nil || token == "" || !strings.Contains(e.Error(), token) {
		return e
	}
	r := &Error{Kind: e.Kind, Scopes: e.Scopes, Detail: "validator error withheld: it quoted the token"}
	if !strings.Contains(e.Check, token) {
		r.Check = e.Check
	}
	return r
}
