package oauthtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/oauthtest"
)

func Example() {
	as := oauthtest.NewServer()
	defer as.Close()

	// A JWT access token for the default audience, with scopes.
	token := as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}})
	fmt.Println(strings.Count(token, "."))

	// The discovery document names the JWK Set a resource server fetches.
	resp, err := http.Get(as.OpenIDConfigurationURL())
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	fmt.Println(doc.Issuer == as.Issuer(), doc.JWKSURI == as.JWKSURL())
	fmt.Println(as.Requests(oauthtest.EndpointOpenIDConfiguration))
	// Output:
	// 2
	// true true
	// 1
}

func ExampleServer_Fail() {
	as := oauthtest.NewServer()
	defer as.Close()

	as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusInternalServerError})
	resp, err := http.Get(as.JWKSURL())
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)

	as.Heal(oauthtest.EndpointJWKS)
	resp, err = http.Get(as.JWKSURL())
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, as.Requests(oauthtest.EndpointJWKS))
	// Output:
	// 500
	// 200 2
}
