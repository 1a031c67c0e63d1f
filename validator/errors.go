package validator

import (
	"context"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/tollgate/tollgate"
)

// reject returns the error for a failed check. detail is fixed text or
// values quoted with quote: never the token.
func reject(kind error, check, detail string) error {
	return &tollgate.Error{Kind: kind, Check: check, Detail: detail}
}

// maxQuoted is how much of a value taken from a token a Detail may show.
const maxQuoted = 40

// quote returns a value taken from a token fit for an error message: cut to
// maxQuoted bytes on a rune boundary and quoted with Go escapes, so that
// control characters cannot forge log lines.
func quote(v []byte) string {
	cut := false
	if len(v) > maxQuoted {
		n := maxQuoted
		for n > 0 && !utf8.RuneStart(v[n]) {
			n--
		}
		v, cut = v[:n], true
	}
	q := strconv.Quote(string(v))
	if cut {
		q += "..."
	}
	return q
}

// keySetError classifies an error from a [KeySet]. A *tollgate.Error of
// kind ErrInvalidToken or ErrUnavailable (what a *jwks.Set returns) passes
// through; another error matching one of those sentinels gets wrapped with a
// Check; anything else means no decision could be made (fail closed, 503).
func keySetError(err error) error {
	var te *tollgate.Error
	if errors.As(err, &te) && (te.Kind == tollgate.ErrInvalidToken || te.Kind == tollgate.ErrUnavailable) {
		return te
	}
	switch {
	case errors.Is(err, tollgate.ErrUnavailable):
		return &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "jwks", Detail: "key set unavailable", Err: err}
	case errors.Is(err, tollgate.ErrInvalidToken):
		return &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "kid", Detail: "key not found", Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "jwks", Detail: "key lookup ended with the request", Err: err}
	}
	return &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "jwks", Detail: "key set failed", Err: err}
}
