// Package routertest is the test that every router example passes: the same
// requests, the same answers, whichever router carries the middleware.
package routertest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/middleware"
)

// Resource is the resource identifier of the example API.
const Resource = "https://orders.example.com/api"

// NewRouter is the constructor each example provides.
type NewRouter func(*middleware.Middleware, *middleware.MetadataHandler) http.Handler

// Validator accepts four tokens with different scopes and refuses the
// others as real validators do; transports cannot tell the difference.
func Validator() tollgate.Validator {
	principals := map[string]*tollgate.Principal{
		"reader":  tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: "alice", Scopes: tollgate.ParseScopes("orders:read")}),
		"writer":  tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: "bob", Scopes: tollgate.ParseScopes("orders:read orders:write")}),
		"admin":   tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: "carol", Scopes: tollgate.ParseScopes("orders:admin")}),
		"billing": tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: "dave", Scopes: tollgate.ParseScopes("orders:write billing")}),
	}
	return tollgate.ValidatorFunc(func(_ context.Context, token string) (*tollgate.Principal, error) {
		if p, ok := principals[token]; ok {
			return p, nil
		}
		if token == "expired" {
			return nil, &tollgate.Error{Kind: tollgate.ErrExpired, Check: "exp"}
		}
		return nil, &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "signature"}
	})
}

// Run serves the router built by newRouter and checks every route's answers.
func Run(t *testing.T, newRouter NewRouter) {
	prm, err := middleware.NewMetadataHandler(middleware.ResourceMetadata{
		Resource:             Resource,
		AuthorizationServers: []string{"https://as.example.com"},
		ScopesSupported:      []string{"orders:read", "orders:write", "orders:admin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	mw, err := middleware.New(Validator(), middleware.Config{Realm: "orders", ResourceMetadataURL: prm.URL()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newRouter(mw, prm))
	defer srv.Close()

	meta := `resource_metadata="` + prm.URL() + `"`
	forbidden := func(scope string) string {
		return `Bearer realm="orders", error="insufficient_scope", scope="` + scope + `", ` + meta
	}
	tests := []struct {
		name, method, path, token string
		status                    int
		challenge, body           string
	}{
		{"health is public", "GET", "/health", "", 200, "", "ok\n"},
		{"metadata is public", "GET", "/.well-known/oauth-protected-resource/api", "", 200, "", string(prm.Document())},
		{"metadata at the root", "GET", "/.well-known/oauth-protected-resource", "", 200, "", string(prm.Document())},
		{"list without token", "GET", "/orders", "", 401, `Bearer realm="orders", ` + meta, "Unauthorized\n"},
		{"list with expired token", "GET", "/orders", "expired", 401,
			`Bearer realm="orders", error="invalid_token", error_description="the access token expired", ` + meta,
			"Unauthorized: the access token expired\n"},
		{"list with forged token", "GET", "/orders", "forged", 401,
			`Bearer realm="orders", error="invalid_token", error_description="the access token is invalid", ` + meta,
			"Unauthorized: the access token is invalid\n"},
		{"list with orders:read", "GET", "/orders", "reader", 200, "", "orders of alice\n"},
		{"list without orders:read", "GET", "/orders", "admin", 403, forbidden("orders:read"), "Forbidden\n"},
		{"create with orders:write", "POST", "/orders", "writer", 201, "", "order created by bob\n"},
		{"create without orders:write", "POST", "/orders", "reader", 403, forbidden("orders:write"), "Forbidden\n"},
		{"get with orders:read", "GET", "/orders/42", "reader", 200, "", "order 42\n"},
		{"get with orders:admin", "GET", "/orders/42", "admin", 200, "", "order 42\n"},
		{"get with neither", "GET", "/orders/42", "billing", 403, forbidden("orders:read orders:admin"), "Forbidden\n"},
		{"get with forged token", "GET", "/orders/42", "forged", 401,
			`Bearer realm="orders", error="invalid_token", error_description="the access token is invalid", ` + meta,
			"Unauthorized: the access token is invalid\n"},
		{"delete as admin", "DELETE", "/orders/42", "admin", 204, "", ""},
		{"delete without orders:admin", "DELETE", "/orders/42", "writer", 403, forbidden("orders:admin"), "Forbidden\n"},
		{"delete without token", "DELETE", "/orders/42", "", 401, `Bearer realm="orders", ` + meta, "Unauthorized\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status || res.Header.Get("WWW-Authenticate") != tt.challenge || string(body) != tt.body {
				t.Fatalf("got %d %q %q\nwant %d %q %q", res.StatusCode, res.Header.Get("WWW-Authenticate"), body,
					tt.status, tt.challenge, tt.body)
			}
		})
	}
}
