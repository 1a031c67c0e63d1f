package tollgate_test

import (
	"context"
	"errors"
	"fmt"
	"io"
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
