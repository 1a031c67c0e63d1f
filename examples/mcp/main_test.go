package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate/tollgate/oauthtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestDiscoveryFlow runs the example end to end: a client that knows only
// the endpoint finds the authorization server through the 401, gets a token,
// and steps up on 403 insufficient_scope.
func TestDiscoveryFlow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	// The ports change from run to run: name them.
	got := out.String()
	ports := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindAllString(got, -1)
	if len(ports) == 0 {
		t.Fatalf("no URLs in the output:\n%s", got)
	}
	mcp := ports[0]
	got = strings.ReplaceAll(got, mcp, "MCP")
	if as := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(got); as != "" {
		got = strings.ReplaceAll(got, as, "AS")
	}
	want := `1. POST http://MCP/mcp tools/list, no token -> 401 Bearer realm="mcp", resource_metadata="http://MCP/.well-known/oauth-protected-resource/mcp"
2. GET http://MCP/.well-known/oauth-protected-resource/mcp -> resource http://MCP/mcp, authorization servers ["http://AS"], scopes ["tools:read" "tools:call"]
3. GET http://AS/.well-known/oauth-authorization-server -> issuer http://AS, token endpoint http://AS/token
4. POST http://AS/token scope="tools:read" resource=http://MCP/mcp -> Bearer token with scope "tools:read"
5. POST http://MCP/mcp tools/list -> 200 {"jsonrpc":"2.0","id":1,"result":{"tools":[{"description":"Says who called it.","inputSchema":{"type":"object"},"name":"whoami"}]}}
6. POST http://MCP/mcp tools/call -> 403 Bearer realm="mcp", error="insufficient_scope", scope="tools:call", resource_metadata="http://MCP/.well-known/oauth-protected-resource/mcp"
7. POST http://AS/token scope="tools:read tools:call" resource=http://MCP/mcp -> Bearer token with scope "tools:read tools:call"
8. POST http://MCP/mcp tools/call -> 200 {"jsonrpc":"2.0","id":1,"result":{"content":[{"text":"you are mcp-host, with scopes \"tools:read tools:call\"","type":"text"}]}}
`
	if got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		in     string
		scheme string
		params map[string]string
		bad    bool
	}{
		{in: "Bearer", scheme: "Bearer", params: map[string]string{}},
		{in: `Bearer realm="mcp", resource_metadata="https://x/y"`, scheme: "Bearer",
			params: map[string]string{"realm": "mcp", "resource_metadata": "https://x/y"}},
		{in: `Bearer error="insufficient_scope", scope="a b",RESOURCE_METADATA=tok`, scheme: "Bearer",
			params: map[string]string{"error": "insufficient_scope", "scope": "a b", "resource_metadata": "tok"}},
		{in: `Bearer realm="a\"b, c"`, scheme: "Bearer", params: map[string]string{"realm": `a"b, c`}},
		{in: `Bearer realm="open`, bad: true},
		{in: `Bearer realm`, bad: true},
		{in: `Bearer realm="a" b="c"`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			scheme, params, err := parseChallenge(tt.in)
			if tt.bad != (err != nil) {
				t.Fatalf("err = %v", err)
			}
			if tt.bad {
				return
			}
			if scheme != tt.scheme || len(params) != len(tt.params) {
				t.Fatalf("got %q %q", scheme, params)
			}
			for k, v := range tt.params {
				if params[k] != v {
					t.Fatalf("got %q %q", scheme, params)
				}
			}
		})
	}
}

// A token is accepted only for this resource: one minted for another
// audience, or expired, is refused with the challenge that sends the client
// back to discovery; the twin with the right audience passes.
func TestTokensForThisResourceOnly(t *testing.T) {
	const resource = "https://mcp.example.com/mcp"
	as := oauthtest.NewServer()
	defer as.Close()
	ctx := context.Background()
	v, closeV, err := newValidator(ctx, as, resource)
	if err != nil {
		t.Fatal(err)
	}
	defer closeV()
	h, err := newHandler(v, resource, as.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	const meta = `resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"`
	tests := []struct {
		name      string
		token     string
		status    int
		challenge string
	}{
		{"for this resource", as.JWT(oauthtest.TokenOptions{Audience: []string{resource}, Scopes: []string{scopeRead}}), 200, ""},
		{"for another resource", as.JWT(oauthtest.TokenOptions{Audience: []string{"https://other.example.com/mcp"}, Scopes: []string{scopeRead}}), 401,
			`Bearer realm="mcp", error="invalid_token", error_description="the access token is invalid", ` + meta},
		{"expired", as.JWT(oauthtest.TokenOptions{Audience: []string{resource}, Scopes: []string{scopeRead}, Lifetime: -time.Hour}), 401,
			`Bearer realm="mcp", error="invalid_token", error_description="the access token expired", ` + meta},
		{"without the scope", as.JWT(oauthtest.TokenOptions{Audience: []string{resource}}), 403,
			`Bearer realm="mcp", error="insufficient_scope", scope="tools:read", ` + meta},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
			r.Header.Set("Authorization", "Bearer "+tt.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.status || rec.Header().Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("got %d %q\nwant %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"), tt.status, tt.challenge)
			}
		})
	}
}
