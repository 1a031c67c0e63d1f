package tollgate_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tollgate/tollgate"
)

func ExampleParseAuthorization() {
	token, err := tollgate.ParseAuthorization("Bearer mF_9.B5f-4.1JqM")
	fmt.Println(token, err)

	_, err = tollgate.ParseAuthorization("Basic dXNlcjpwYXNz")
	fmt.Println(errors.Is(err, tollgate.ErrNoToken))

	_, err = tollgate.ParseAuthorization("Bearer two words")
	fmt.Println(errors.Is(err, tollgate.ErrInvalidRequest))
	// Output:
	// mF_9.B5f-4.1JqM <nil>
	// true
	// true
}

func ExampleRequireScope() {
	p := tollgate.NewPrincipal(tollgate.PrincipalInfo{
		Subject: "alice",
		Scopes:  tollgate.ParseScopes("orders:read"),
	})
	ctx := tollgate.NewContext(context.Background(), p)

	fmt.Println(tollgate.RequireScope(ctx, "orders:read"))

	err := tollgate.RequireScope(ctx, "orders:write")
	var te *tollgate.Error
	if errors.As(err, &te) {
		fmt.Println(errors.Is(err, tollgate.ErrInsufficientScope), te.Scopes)
	}
	// Output:
	// <nil>
	// true [orders:write]
}

func ExampleError() {
	err := fmt.Errorf("validating: %w", &tollgate.Error{Kind: tollgate.ErrExpired, Check: "exp", Detail: "expired 3m0s ago"})

	fmt.Println(errors.Is(err, tollgate.ErrExpired), errors.Is(err, tollgate.ErrInvalidToken))
	var te *tollgate.Error
	if errors.As(err, &te) {
		fmt.Println(te.Check)
	}
	fmt.Println(err)
	// Output:
	// true true
	// exp
	// validating: tollgate: token expired (exp): expired 3m0s ago
}
