package main

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
	"github.com/tollgate/tollgate/oauthtest"
)

const oneHour = time.Hour

// newValidator returns the validator the service uses and a func that
// releases it.
//
// Stand-in: tollgate's JWT validator and introspection client are not merged
// yet, so this asks the authorization server's RFC 7662 introspection
// endpoint about each token, in the fewest lines that stay safe (timeout,
// bounded read, every failure a tollgate error). Replace it with
// validator.New or introspect.New once they exist; grpcauth takes any
// tollgate.Validator.
func newValidator(as *oauthtest.Server) (tollgate.Validator, func(), error) {
	client := *as.Client()
	client.Timeout = 5 * time.Second
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v := tollgate.ValidatorFunc(func(ctx context.Context, token string) (*tollgate.Principal, error) {
		form := url.Values{"token": {token}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, as.IntrospectionURL(), strings.NewReader(form.Encode()))
		if err != nil {
			return nil, &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "introspection", Detail: "cannot build request"}
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(oauthtest.DefaultClientID, oauthtest.DefaultClientSecret)
		resp, err := client.Do(req)
		if err != nil {
			return nil, &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "introspection", Err: err}
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "introspection", Detail: fmt.Sprintf("status %d", resp.StatusCode)}
		}
		var ans struct {
			Active   bool   `json:"active"`
			Subject  string `json:"sub"`
			ClientID string `json:"client_id"`
			Scope    string `json:"scope"`
			Exp      int64  `json:"exp"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&ans); err != nil {
			return nil, &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "introspection", Detail: "unreadable answer"}
		}
		if !ans.Active {
			return nil, &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "active", Detail: "token not active"}
		}
		return tollgate.NewPrincipal(tollgate.PrincipalInfo{
			Subject:   ans.Subject,
			ClientID:  ans.ClientID,
			Scopes:    tollgate.ParseScopes(ans.Scope),
			ExpiresAt: time.Unix(ans.Exp, 0),
			Kind:      tollgate.KindOpaque,
		}), nil
	})
	return v, client.CloseIdleConnections, nil
}

// mint returns a token for o that newValidator accepts.
func mint(as *oauthtest.Server, o oauthtest.TokenOptions) string { return as.Opaque(o) }

// forge returns a token the authorization server never issued.
func forge(*oauthtest.Server) string { return "Zm9yZ2VkLXRva2VuLW5vdC1pc3N1ZWQtYnktdGhlLWFz" }
