package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/middleware"
)

func TestMetadataHandlerServes(t *testing.T) {
	h, err := middleware.NewMetadataHandler(middleware.ResourceMetadata{
		Resource:              "https://api.example.com/mcp",
		AuthorizationServers:  []string{"https://as.example.com"},
		ScopesSupported:       []string{"tools:read", "tools:call"},
		ResourceName:          "Example MCP server",
		ResourceDocumentation: "https://docs.example.com/mcp",
		Extra:                 map[string]any{"x_ext": 1, "a_ext": "z"},
	})
	if err != nil {
		t.Fatal(err)
	}
	const doc = `{"resource":"https://api.example.com/mcp","authorization_servers":["https://as.example.com"],` +
		`"scopes_supported":["tools:read","tools:call"],"bearer_methods_supported":["header"],` +
		`"resource_name":"Example MCP server","resource_documentation":"https://docs.example.com/mcp","a_ext":"z","x_ext":1}`
	if h.URL() != "https://api.example.com/.well-known/oauth-protected-resource/mcp" {
		t.Errorf("URL = %s", h.URL())
	}
	if want := []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"}; !slices.Equal(h.Paths(), want) {
		t.Errorf("Paths = %q, want %q", h.Paths(), want)
	}
	tests := []struct {
		name, method, target string
		header               map[string]string
		status               int
		body                 string
	}{
		{name: "path-inserted", method: "GET", target: "/.well-known/oauth-protected-resource/mcp", status: 200, body: doc},
		{name: "root", method: "GET", target: "/.well-known/oauth-protected-resource", status: 200, body: doc},
		{name: "forwarded headers change nothing", method: "GET", target: "/.well-known/oauth-protected-resource/mcp",
			header: map[string]string{"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}, status: 200, body: doc},
		{name: "head", method: "HEAD", target: "/.well-known/oauth-protected-resource/mcp", status: 200},
		{name: "other resource path", method: "GET", target: "/.well-known/oauth-protected-resource/other", status: 404, body: "404 page not found\n"},
		{name: "post", method: "POST", target: "/.well-known/oauth-protected-resource/mcp", status: 405, body: "Method Not Allowed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			for k, v := range tt.header {
				if k == "Host" {
					r.Host = v
				}
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Fatalf("got %d %q\nwant %d %q", rec.Code, rec.Body.String(), tt.status, tt.body)
			}
			if tt.status == 200 {
				if ct, cors := rec.Header().Get("Content-Type"), rec.Header().Get("Access-Control-Allow-Origin"); ct != "application/json" || cors != "*" {
					t.Errorf("Content-Type %q, Access-Control-Allow-Origin %q", ct, cors)
				}
			}
			if tt.status == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q", rec.Header().Get("Allow"))
			}
		})
	}
	if string(h.Document()) != doc {
		t.Errorf("Document = %s", h.Document())
	}
}

func TestMetadataHandlerLocations(t *testing.T) {
	tests := []struct {
		resource, url string
		paths         []string
	}{
		{"https://api.example.com", "https://api.example.com/.well-known/oauth-protected-resource", []string{"/.well-known/oauth-protected-resource"}},
		{"https://api.example.com/", "https://api.example.com/.well-known/oauth-protected-resource", []string{"/.well-known/oauth-protected-resource"}},
		{"https://api.example.com:8443/v1/mcp", "https://api.example.com:8443/.well-known/oauth-protected-resource/v1/mcp",
			[]string{"/.well-known/oauth-protected-resource/v1/mcp", "/.well-known/oauth-protected-resource"}},
		{"http://127.0.0.1:8080/mcp", "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp",
			[]string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"}},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			h, err := middleware.NewMetadataHandler(middleware.ResourceMetadata{Resource: tt.resource})
			if err != nil {
				t.Fatal(err)
			}
			if h.URL() != tt.url || !slices.Equal(h.Paths(), tt.paths) {
				t.Fatalf("URL %s Paths %q", h.URL(), h.Paths())
			}
			// The URL it announces is one it serves.
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", h.URL(), nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d", h.URL(), rec.Code)
			}
		})
	}
}

func TestMetadataHandlerRejects(t *testing.T) {
	ok := middleware.ResourceMetadata{Resource: "https://api.example.com/mcp", AuthorizationServers: []string{"https://as.example.com"}}
	tests := []struct {
		name   string
		edit   func(*middleware.ResourceMetadata)
		reject bool
	}{
		{name: "valid", edit: func(*middleware.ResourceMetadata) {}},
		{name: "no resource", edit: func(m *middleware.ResourceMetadata) { m.Resource = "" }, reject: true},
		{name: "http resource", edit: func(m *middleware.ResourceMetadata) { m.Resource = "http://api.example.com/mcp" }, reject: true},
		{name: "resource with query", edit: func(m *middleware.ResourceMetadata) { m.Resource += "?x=1" }, reject: true},
		{name: "resource with fragment", edit: func(m *middleware.ResourceMetadata) { m.Resource += "#x" }, reject: true},
		{name: "relative resource", edit: func(m *middleware.ResourceMetadata) { m.Resource = "/mcp" }, reject: true},
		{name: "http authorization server", edit: func(m *middleware.ResourceMetadata) { m.AuthorizationServers = []string{"http://as.example.com"} }, reject: true},
		{name: "loopback authorization server", edit: func(m *middleware.ResourceMetadata) { m.AuthorizationServers = []string{"http://localhost:9000"} }},
		{name: "bad documentation URL", edit: func(m *middleware.ResourceMetadata) { m.ResourceDocumentation = "docs" }, reject: true},
		{name: "bad scope", edit: func(m *middleware.ResourceMetadata) { m.ScopesSupported = []string{"a b"} }, reject: true},
		{name: "good scopes", edit: func(m *middleware.ResourceMetadata) { m.ScopesSupported = []string{"a", "b:c"} }},
		{name: "bad bearer method", edit: func(m *middleware.ResourceMetadata) { m.BearerMethodsSupported = []string{"cookie"} }, reject: true},
		{name: "all bearer methods", edit: func(m *middleware.ResourceMetadata) { m.BearerMethodsSupported = []string{"header", "body", "query"} }},
		{name: "extra overriding a member", edit: func(m *middleware.ResourceMetadata) { m.Extra = map[string]any{"resource": "https://evil"} }, reject: true},
		{name: "extra overriding an empty member", edit: func(m *middleware.ResourceMetadata) { m.Extra = map[string]any{"jwks_uri": "https://evil"} }, reject: true},
		{name: "extra not encodable", edit: func(m *middleware.ResourceMetadata) { m.Extra = map[string]any{"x": func() {}} }, reject: true},
		{name: "extra", edit: func(m *middleware.ResourceMetadata) { m.Extra = map[string]any{"x": []int{1}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := ok
			tt.edit(&md)
			_, err := middleware.NewMetadataHandler(md)
			if tt.reject != (err != nil) {
				t.Fatalf("err = %v, want rejection %v", err, tt.reject)
			}
		})
	}
}

func TestMetadataNoBearerMethods(t *testing.T) {
	h, err := middleware.NewMetadataHandler(middleware.ResourceMetadata{Resource: "https://api.example.com", BearerMethodsSupported: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"resource":"https://api.example.com","bearer_methods_supported":[]}`; string(h.Document()) != want {
		t.Fatalf("Document = %s, want %s", h.Document(), want)
	}
}
