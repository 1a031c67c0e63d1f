package introspect_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/oauthtest"
)

func Example() {
	as := oauthtest.NewServer()
	defer as.Close()

	client, err := introspect.New(introspect.Config{
		Issuer:       as.Issuer(), // the endpoint comes from the metadata
		ClientID:     oauthtest.DefaultClientID,
		ClientSecret: oauthtest.DefaultClientSecret,
		Audiences:    []string{as.Audience()},
		HTTPClient:   as.Client(), // oauthtest serves on loopback
	})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	token := as.Opaque(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}})
	p, err := client.Validate(ctx, token)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Subject(), p.Scopes(), p.Kind())

	// The same token again: served from the cache, no second call.
	_, err = client.Validate(ctx, token)
	fmt.Println(err, as.Requests(oauthtest.EndpointIntrospection))

	// A token the server does not vouch for.
	_, err = client.Validate(ctx, "revoked-or-unknown")
	fmt.Println(errors.Is(err, tollgate.ErrInvalidToken), err)

	// The server down: no decision, which is not the caller's fault (503).
	as.Fail(oauthtest.EndpointIntrospection, oauthtest.Failure{Status: 502})
	_, err = client.Validate(ctx, as.Opaque(oauthtest.TokenOptions{}))
	fmt.Println(errors.Is(err, tollgate.ErrUnavailable))
	// Output:
	// alice orders:read opaque
	// <nil> 1
	// true tollgate: invalid token (active): token is not active
	// true
}

func ExampleSecret() {
	cfg := introspect.Config{ClientID: "orders-api", ClientSecret: "s3cr3t"}
	fmt.Println(cfg.ClientSecret)
	fmt.Printf("%+v\n", cfg)
	// Output:
	// [redacted]
	// introspect.Config{Issuer: "", Endpoint: "", ClientID: "orders-api", AuthMethod: "", ClientSecret: [redacted]}
}
