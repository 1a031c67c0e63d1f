package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/tollgate/tollgate/middleware"
)

// A protected resource publishes where clients get tokens for it (RFC 9728),
// and points to that document from its challenges.
func ExampleNewMetadataHandler() {
	prm, err := middleware.NewMetadataHandler(middleware.ResourceMetadata{
		Resource:             "https://api.example.com/mcp",
		AuthorizationServers: []string{"https://login.example.com"},
		ScopesSupported:      []string{"tools:read", "tools:call"},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	for _, p := range prm.Paths() {
		mux.Handle("GET "+p, prm)
	}
	// The middleware's challenges carry the URL:
	// middleware.New(v, middleware.Config{ResourceMetadataURL: prm.URL()})
	fmt.Println(prm.URL())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-protected-resource/mcp", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// https://api.example.com/.well-known/oauth-protected-resource/mcp
	// 200 {"resource":"https://api.example.com/mcp","authorization_servers":["https://login.example.com"],"scopes_supported":["tools:read","tools:call"],"bearer_methods_supported":["header"]}
}
