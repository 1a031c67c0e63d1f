package tollgate_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tollgate/tollgate"
)

func TestExpiredIsInvalidToken(t *testing.T) {
	if !errors.Is(tollgate.ErrExpired, tollgate.ErrInvalidToken) {
		t.Fatal("ErrExpired must match ErrInvalidToken")
	}
	if errors.Is(tollgate.ErrInvalidToken, tollgate.ErrExpired) {
		t.Fatal("ErrInvalidToken must not match ErrExpired")
	}
	err := fmt.Errorf("wrapped: %w", &tollgate.Error{Kind: tollgate.ErrExpired, Check: "exp"})
	if !errors.Is(err, tollgate.ErrInvalidToken) || !errors.Is(err, tollgate.ErrExpired) {
		t.Fatal("a wrapped *Error of kind ErrExpired must match both sentinels")
	}
	for _, other := range []error{tollgate.ErrNoToken, tollgate.ErrInvalidRequest, tollgate.ErrInsufficientScope, tollgate.ErrUnavailable} {
		if errors.Is(err, other) {
			t.Errorf("ErrExpired error matches %v", other)
		}
	}
}

func TestErrorUnwrapsKindAndCause(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	err := &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "jwks", Detail: "fetch failed", Err: cause}
	if !errors.Is(err, tollgate.ErrUnavailable) || !errors.Is(err, cause) {
		t.Fatal("*Error must match its Kind and its cause")
	}
	want := "tollgate: token validation unavailable (jwks): fetch failed: unexpected EOF"
	if err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
	scope := &tollgate.Error{Kind: tollgate.ErrInsufficientScope, Check: "scope", Scopes: []string{"a", "b"}}
	if got := scope.Error(); got != "tollgate: insufficient scope (scope): requires a b" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestAsError(t *testing.T) {
	typed := &tollgate.Error{Kind: tollgate.ErrExpired, Check: "exp"}
	tests := []struct {
		name  string
		err   error
		kind  error
		check string
	}{
		{"typed error is kept", fmt.Errorf("ctx: %w", typed), tollgate.ErrExpired, "exp"},
		{"bare sentinel", tollgate.ErrUnavailable, tollgate.ErrUnavailable, ""},
		{"wrapped sentinel", fmt.Errorf("x: %w", tollgate.ErrInsufficientScope), tollgate.ErrInsufficientScope, ""},
		{"wrapped expired keeps the refinement", fmt.Errorf("x: %w", tollgate.ErrExpired), tollgate.ErrExpired, ""},
		{"context cancelled is unavailable", context.Canceled, tollgate.ErrUnavailable, "context"},
		{"deadline is unavailable", fmt.Errorf("x: %w", context.DeadlineExceeded), tollgate.ErrUnavailable, "context"},
		{"unknown error fails closed as invalid token", errors.New("boom"), tollgate.ErrInvalidToken, ""},
		{"*Error without kind fails closed", &tollgate.Error{Check: "x"}, tollgate.ErrInvalidToken, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tollgate.AsError(tt.err)
			if got == nil || got.Kind != tt.kind || got.Check != tt.check {
				t.Fatalf("AsError(%v) = %+v, want kind %v check %q", tt.err, got, tt.kind, tt.check)
			}
			if !errors.Is(got, tt.kind) {
				t.Fatalf("result does not match its kind")
			}
		})
	}
	if tollgate.AsError(nil) != nil {
		t.Fatal("AsError(nil) must be nil")
	}
	if got := tollgate.AsError(typed); got != typed {
		t.Fatal("AsError must return an *Error as is")
	}
}

func TestRedactToken(t *testing.T) {
	const token = "eyJhbGciOiJSUzI1NiJ9.secret-payload.sig"
	quoting := &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "custom", Detail: "bad token " + token, Scopes: []string{"a"}}
	r := tollgate.RedactToken(quoting, token)
	if strings.Contains(r.Error(), token) || r.Kind != tollgate.ErrInvalidToken || r.Check != "custom" || len(r.Scopes) != 1 {
		t.Fatalf("RedactToken = %+v", r)
	}
	wrapped := &tollgate.Error{Kind: tollgate.ErrUnavailable, Err: fmt.Errorf("upstream said %s", token)}
	if r := tollgate.RedactToken(wrapped, token); strings.Contains(r.Error(), token) || errors.Is(r, wrapped.Err) {
		t.Fatalf("a cause quoting the token survived: %v", r)
	}
	inCheck := &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: token}
	if r := tollgate.RedactToken(inCheck, token); r.Check != "" {
		t.Fatalf("Check quoting the token survived: %q", r.Check)
	}
	// Twins: an error that does not quote the token is returned as is.
	clean := &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "aud", Detail: "audience not accepted"}
	if tollgate.RedactToken(clean, token) != clean || tollgate.RedactToken(clean, "") != clean {
		t.Fatal("an error without the token was changed")
	}
	if tollgate.RedactToken(nil, token) != nil {
		t.Fatal("nil must stay nil")
	}
}
