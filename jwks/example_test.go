package jwks_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
)

// A set fetched from a JWK Set URL. oauthtest serves on loopback, where
// plain http is allowed; any other host needs https.
func Example() {
	as := oauthtest.NewServer()
	defer as.Close()

	set, err := jwks.New(jwks.Config{URL: as.JWKSURL()})
	if err != nil {
		panic(err)
	}
	defer set.Close()
	if err := set.Start(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println("ready:", set.Ready())

	keys, err := set.Lookup(context.Background(), as.SigningKey().ID())
	fmt.Println(len(keys), keys[0].Type(), keys[0].Fits("RS256"), err)

	// An unknown key ID after a fresh fetch: the token is invalid.
	_, err = set.Lookup(context.Background(), "no-such-key")
	var te *tollgate.Error
	fmt.Println(errors.Is(err, tollgate.ErrInvalidToken), errors.As(err, &te) && te.Check == "kid")
	// Output:
	// ready: true
	// 1 RSA true <nil>
	// true true
}

// A set found through the issuer's metadata: OpenID Connect discovery, or
// RFC 8414 with the well-known segment inserted before the issuer's path.
func ExampleConfig_issuer() {
	as := oauthtest.New(oauthtest.Config{IssuerPath: "/tenants/acme", Algorithm: "ES256"})
	defer as.Close()

	set, err := jwks.New(jwks.Config{Issuer: as.Issuer(), Discovery: jwks.DiscoveryOAuth})
	if err != nil {
		panic(err)
	}
	defer set.Close()
	if err := set.Start(context.Background()); err != nil {
		panic(err)
	}
	keys, _ := set.Keys(context.Background())
	fmt.Println(len(keys), keys[0].Curve())
	fmt.Println(as.Requests(oauthtest.EndpointServerMetadata), as.Requests(oauthtest.EndpointJWKS))
	// Output:
	// 1 P-256
	// 1 1
}

// A server that starts while the authorization server is down: Start
// reports the failure, the set keeps retrying, and Ready tells when keys
// have arrived.
func ExampleSet_Start() {
	as := oauthtest.NewServer()
	defer as.Close()
	as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: 503})

	set, err := jwks.New(jwks.Config{URL: as.JWKSURL()})
	if err != nil {
		panic(err)
	}
	defer set.Close()
	err = set.Start(context.Background())
	fmt.Println(errors.Is(err, tollgate.ErrUnavailable), set.Ready())

	_, err = set.Lookup(context.Background(), as.SigningKey().ID())
	fmt.Println(errors.Is(err, tollgate.ErrUnavailable))
	// Output:
	// true false
	// true
}

// A static set: keys from configuration, no network.
func ExampleConfig_keys() {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	key, err := jwks.NewKey("signing-2024", "EdDSA", pub)
	if err != nil {
		panic(err)
	}
	set, err := jwks.New(jwks.Config{Keys: []*jwks.Key{key}})
	if err != nil {
		panic(err)
	}
	defer set.Close()

	keys, err := set.Lookup(context.Background(), "signing-2024")
	fmt.Println(len(keys), keys[0].Algorithm(), err, set.Ready())
	// Output:
	// 1 EdDSA <nil> true
}
