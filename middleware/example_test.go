package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// newValidator validates the JWT access tokens of as; its keys are found by
// discovery, fetched now, and refreshed in the background. Close it when done.
func newValidator(as *oauthtest.Server) *validator.Validator {
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{{
		Issuer: as.Issuer(), Audiences: []string{as.Audience()},
	}}})
	if err != nil {
		panic(err)
	}
	if err := v.Start(context.Background()); err != nil {
		panic(err)
	}
	return v
}

// show sends a request to h and prints the answer's status,
// WWW-Authenticate header (if any) and body.
func show(h http.Handler, method, path, token string) {
	r := httptest.NewRequest(method, path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Printf("%s %s: %d", method, path, rec.Code)
	if ch := rec.Header().Get("WWW-Authenticate"); ch != "" {
		fmt.Printf(" %s", ch)
	}
	fmt.Printf(" | %s", rec.Body.String())
}

// Protecting routes of an http.ServeMux, each with its own scope.
func Example() {
	as := oauthtest.NewServer() // the authorization server, for the example
	defer as.Close()
	v := newValidator(as)
	defer v.Close()

	mw, err := middleware.New(v, middleware.Config{
		Realm:               "orders",
		ResourceMetadataURL: "https://api.example.com/.well-known/oauth-protected-resource",
	})
	if err != nil {
		panic(err)
	}
	list := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tollgate.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s\n", p.Subject())
	})
	create := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintln(w, "created")
	})
	mux := http.NewServeMux()
	mux.Handle("GET /orders", mw.Handler(middleware.RequireScopes("orders:read")(list)))
	mux.Handle("POST /orders", mw.Handler(middleware.RequireScopes("orders:write")(create)))

	reader := as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}})
	show(mux, "GET", "/orders", reader)
	show(mux, "POST", "/orders", reader)
	show(mux, "GET", "/orders", "")
	show(mux, "GET", "/orders", as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}, Lifetime: -time.Hour}))
	show(mux, "GET", "/orders", "not a token!")
	// Output:
	// GET /orders: 200 | orders of alice
	// POST /orders: 403 Bearer realm="orders", error="insufficient_scope", scope="orders:write", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource" | Forbidden
	// GET /orders: 401 Bearer realm="orders", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource" | Unauthorized
	// GET /orders: 401 Bearer realm="orders", error="invalid_token", error_description="the access token expired", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource" | Unauthorized: the access token expired
	// GET /orders: 400 Bearer realm="orders", error="invalid_request", error_description="malformed bearer token" | Bad Request: malformed bearer token
}

// A handler that decides about scopes itself answers with the same
// challenge the middleware would write.
func ExampleWriteError() {
	as := oauthtest.NewServer()
	defer as.Close()
	v := newValidator(as)
	defer v.Close()
	mw, err := middleware.New(v, middleware.Config{Realm: "orders"})
	if err != nil {
		panic(err)
	}
	cancel := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := tollgate.RequireScope(r.Context(), "orders:write"); err != nil {
			middleware.WriteError(w, r, err)
			return
		}
		fmt.Fprintln(w, "cancelled")
	}))
	show(cancel, "POST", "/orders/42/cancel", as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}}))
	show(cancel, "POST", "/orders/42/cancel", as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:write"}}))
	// Output:
	// POST /orders/42/cancel: 403 Bearer realm="orders", error="insufficient_scope", scope="orders:write" | Forbidden
	// POST /orders/42/cancel: 200 | cancelled
}

// Rendering rejections as RFC 9457 problem details. The status and the
// WWW-Authenticate header stay what RFC 6750 requires.
func ExampleConfig_errorHandler() {
	as := oauthtest.NewServer()
	defer as.Close()
	v := newValidator(as)
	defer v.Close()
	mw, err := middleware.New(v, middleware.Config{
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, rej middleware.Rejection) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(rej.Status)
			_ = json.NewEncoder(w).Encode(map[string]any{
				"type":   "https://api.example.com/problems/" + rej.Code,
				"title":  http.StatusText(rej.Status),
				"status": rej.Status,
				"detail": rej.Description,
			})
		},
	})
	if err != nil {
		panic(err)
	}
	h := mw.Handler(http.NotFoundHandler())
	show(h, "GET", "/orders", as.JWT(oauthtest.TokenOptions{Audience: []string{"https://another-api.example"}}))
	// Output:
	// GET /orders: 401 Bearer error="invalid_token", error_description="the access token is invalid" | {"detail":"the access token is invalid","status":401,"title":"Unauthorized","type":"https://api.example.com/problems/invalid_token"}
}

// Optional authentication: anonymous requests pass without a principal,
// but a bad token is still refused.
func ExampleConfig_optional() {
	as := oauthtest.NewServer()
	defer as.Close()
	v := newValidator(as)
	defer v.Close()
	mw, err := middleware.New(v, middleware.Config{Optional: true})
	if err != nil {
		panic(err)
	}
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := tollgate.FromContext(r.Context()); ok {
			fmt.Fprintf(w, "hello %s\n", p.Subject())
			return
		}
		fmt.Fprintln(w, "hello stranger")
	}))
	show(h, "GET", "/", "")
	show(h, "GET", "/", as.JWT(oauthtest.TokenOptions{Subject: "alice"}))
	show(h, "GET", "/", as.JWT(oauthtest.TokenOptions{Key: oauthtest.NewKey("ES256")}))
	// Output:
	// GET /: 200 | hello stranger
	// GET /: 200 | hello alice
	// GET /: 401 Bearer error="invalid_token", error_description="the access token is invalid" | Unauthorized: the access token is invalid
}
