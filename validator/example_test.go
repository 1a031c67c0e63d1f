package validator_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

func Example() {
	as := oauthtest.NewServer() // an authorization server for the example
	defer as.Close()

	// The issuer's keys are found by discovery, fetched, refreshed in the
	// background and refetched when a token names a new key.
	v, err := validator.New(validator.Config{
		Issuers: []validator.Issuer{{
			Issuer:    as.Issuer(),
			Audiences: []string{as.Audience()},
		}},
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	token := as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}})
	p, err := v.Validate(context.Background(), token)
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	fmt.Println(p.Subject(), p.Scopes(), p.Scopes().Has("orders:read"))
	// Output: alice orders:read true
}

func ExampleValidator_Validate_rejections() {
	as := oauthtest.NewServer()
	defer as.Close()
	v, err := validator.New(validator.Config{
		Issuers: []validator.Issuer{{
			Issuer:    as.Issuer(),
			Audiences: []string{as.Audience()},
		}},
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	ctx := context.Background()
	for _, token := range []string{
		as.JWT(oauthtest.TokenOptions{Lifetime: -time.Hour}),
		as.JWT(oauthtest.TokenOptions{Audience: []string{"https://another-api.example"}}),
		as.JWT(oauthtest.TokenOptions{Key: oauthtest.NewKey("ES256")}),
		as.JWT(oauthtest.TokenOptions{Header: map[string]any{"alg": "none"}}),
	} {
		_, err := v.Validate(ctx, token)
		var te *tollgate.Error
		errors.As(err, &te)
		fmt.Printf("check %-5s expired %-5v invalid %v\n", te.Check, errors.Is(err, tollgate.ErrExpired), errors.Is(err, tollgate.ErrInvalidToken))
	}
	// Output:
	// check exp   expired true  invalid true
	// check aud   expired false invalid true
	// check kid   expired false invalid true
	// check alg   expired false invalid true
}

// An API that accepts tokens from two authorization servers, one of which
// (like Azure AD) neither sets typ at+jwt nor uses the scope claim.
func ExampleIssuer() {
	internal := oauthtest.NewServer()
	defer internal.Close()
	partner := oauthtest.New(oauthtest.Config{Algorithm: "ES256", Audience: "api://orders"})
	defer partner.Close()

	v, err := validator.New(validator.Config{
		Issuers: []validator.Issuer{
			{
				Issuer:     internal.Issuer(),
				Audiences:  []string{internal.Audience()},
				Algorithms: []string{"RS256"},
			},
			{
				Issuer:               partner.Issuer(),
				Audiences:            []string{"api://orders"},
				Algorithms:           []string{"ES256"},
				ScopeClaim:           "scp",
				MaxAge:               2 * time.Hour,
				InsecureAllowUntyped: true,
			},
		},
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	partnerToken := partner.JWT(oauthtest.TokenOptions{
		Header: map[string]any{"typ": "JWT"},
		Claims: map[string]any{"scp": "Orders.Read"},
	})
	p, err := v.Validate(context.Background(), partnerToken)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Issuer() == partner.Issuer(), p.Scopes())
	// Output: true Orders.Read
}
