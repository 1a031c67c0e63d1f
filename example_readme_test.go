package tollgate_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// Example is the usage example of the README: an API whose GET /orders needs
// a JWT access token from the issuer with the scope orders:read.
// TestReadmeUsageMatchesExample keeps the two identical.
func Example() {
	as := oauthtest.NewServer() // stands in for your authorization server
	defer as.Close()
	issuer, audience := as.Issuer(), as.Audience()

	// README usage begins.
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{{
		Issuer:    issuer,             // e.g. "https://auth.example.com/"
		Audiences: []string{audience}, // this API, e.g. "https://api.example.com"
	}}})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	auth, err := middleware.New(v, middleware.Config{Realm: "orders"})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orders", auth.Handler(middleware.RequireScopes("orders:read")(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			p, _ := tollgate.FromContext(r.Context())
			fmt.Fprintf(w, "orders of %s\n", p.Subject())
		}))))
	// README usage ends.

	api := httptest.NewServer(mux)
	defer api.Close()
	for _, scopes := range [][]string{{"orders:read"}, {"profile"}} {
		req, _ := http.NewRequest("GET", api.URL+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: scopes}))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	// Output:
	// 200 "" orders of alice
	// 403 "Bearer realm=\"orders\", error=\"insufficient_scope\", scope=\"orders:read\"" Forbidden
}
