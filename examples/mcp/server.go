package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/middleware"
)

// The scopes of the example server: listing tools and calling them.
const (
	scopeRead = "tools:read"
	scopeCall = "tools:call"
)

// newHandler returns the example MCP server for the resource identifier
// resource (its endpoint URL, e.g. https://mcp.example.com/mcp): the
// JSON-RPC endpoint behind the middleware, and the RFC 9728 metadata that
// points clients to issuer.
func newHandler(v tollgate.Validator, resource, issuer string) (http.Handler, error) {
	u, err := url.Parse(resource)
	if err != nil {
		return nil, err
	}
	prm, err := middleware.NewMetadataHandler(middleware.ResourceMetadata{
		Resource:             resource,
		AuthorizationServers: []string{issuer},
		ScopesSupported:      []string{scopeRead, scopeCall},
		ResourceName:         "tollgate example MCP server",
	})
	if err != nil {
		return nil, err
	}
	mw, err := middleware.New(v, middleware.Config{Realm: "mcp", ResourceMetadataURL: prm.URL()})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for _, p := range prm.Paths() {
		mux.Handle("GET "+p, prm)
	}
	mux.Handle("POST "+u.Path, mw.Handler(http.HandlerFunc(serveRPC)))
	return mux, nil
}

type rpcRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// serveRPC answers the few JSON-RPC methods of the example. The token was
// validated by the middleware; each method checks its own scope, and a
// missing one is answered 403 insufficient_scope with the scope to ask for,
// which MCP clients use to step up.
func serveRPC(w http.ResponseWriter, r *http.Request) {
	var req rpcRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil || req.JSONRPC != "2.0" {
		writeRPC(w, rpcResponse{Error: &rpcError{Code: -32700, Message: "parse error"}})
		return
	}
	resp := rpcResponse{ID: req.ID}
	switch req.Method {
	case "initialize":
		resp.Result = map[string]any{
			"protocolVersion": "2025-06-18",
			"serverInfo":      map[string]string{"name": "tollgate-example", "version": "1.0.0"},
			"capabilities":    map[string]any{"tools": map[string]any{}},
		}
	case "tools/list":
		if err := tollgate.RequireScope(r.Context(), scopeRead); err != nil {
			middleware.WriteError(w, r, err)
			return
		}
		resp.Result = map[string]any{"tools": []map[string]any{{
			"name":        "whoami",
			"description": "Says who called it.",
			"inputSchema": map[string]any{"type": "object"},
		}}}
	case "tools/call":
		if err := tollgate.RequireScope(r.Context(), scopeCall); err != nil {
			middleware.WriteError(w, r, err)
			return
		}
		p, _ := tollgate.FromContext(r.Context())
		resp.Result = map[string]any{"content": []map[string]string{{
			"type": "text", "text": fmt.Sprintf("you are %s, with scopes %q", p.Subject(), p.Scopes().String()),
		}}}
	default:
		resp.Error = &rpcError{Code: -32601, Message: "method not found"}
	}
	writeRPC(w, resp)
}

func writeRPC(w http.ResponseWriter, resp rpcResponse) {
	resp.JSONRPC = "2.0"
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}
