package cache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/oauthtest"
)

// introspector is a bare RFC 7662 client (package introspect is the real
// one): every call is a round trip to the authorization server.
func introspector(as *oauthtest.Server) tollgate.Validator {
	return tollgate.ValidatorFunc(func(ctx context.Context, token string) (*tollgate.Principal, error) {
		form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, as.IntrospectionURL(), strings.NewReader(form.Encode()))
		if err != nil {
			return nil, &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "introspection", Err: err}
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(oauthtest.DefaultClientID, oauthtest.DefaultClientSecret)
		resp, err := as.Client().Do(req)
		if err != nil {
			return nil, &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "introspection", Err: err}
		}
		defer resp.Body.Close()
		var answer struct {
			Active bool   `json:"active"`
			Sub    string `json:"sub"`
			Exp    int64  `json:"exp"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&answer) != nil {
			return nil, &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "introspection"}
		}
		if !answer.Active {
			return nil, &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "active", Detail: "token is not active"}
		}
		return tollgate.NewPrincipal(tollgate.PrincipalInfo{
			Subject:   answer.Sub,
			ExpiresAt: time.Unix(answer.Exp, 0),
			Kind:      tollgate.KindOpaque,
		}), nil
	})
}

// A Cache in front of an introspection client: a token seen again is served
// from memory, and so is a rejection, for a short while.
func Example() {
	as := oauthtest.NewServer()
	defer as.Close()

	c, err := cache.New(introspector(as), cache.Config{
		Name:   "introspection",
		MaxTTL: 2 * time.Minute, // a revoked token is accepted for at most this long
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx := context.Background()

	token := as.Opaque(oauthtest.TokenOptions{Subject: "alice"})
	for range 3 {
		p, err := c.Validate(ctx, token)
		fmt.Println(p.Subject(), err)
	}
	fmt.Println("introspection calls:", as.Requests(oauthtest.EndpointIntrospection))

	// Revoked at the AS, but still cached: revocation takes up to MaxTTL.
	as.Revoke(token)
	p, _ := c.Validate(ctx, token)
	fmt.Println("after revocation:", p.Subject())

	// A rejection is cached too (NegativeTTL, 10 seconds by default).
	for range 2 {
		_, err := c.Validate(ctx, "not-a-token")
		fmt.Println(err)
	}
	fmt.Println("introspection calls:", as.Requests(oauthtest.EndpointIntrospection))
	// Output:
	// alice <nil>
	// alice <nil>
	// alice <nil>
	// introspection calls: 1
	// after revocation: alice
	// tollgate: invalid token (active): token is not active
	// tollgate: invalid token (active): token is not active
	// introspection calls: 2
}
