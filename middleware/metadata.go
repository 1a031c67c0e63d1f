package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// WellKnownPath is the well-known URI of RFC 9728 protected resource
// metadata.
const WellKnownPath = "/.well-known/oauth-protected-resource"

// ResourceMetadata is an RFC 9728 protected resource metadata document: what
// a client needs to know to get a token for this resource. Only Resource is
// required. URLs must be absolute https URLs (http only for loopback hosts).
type ResourceMetadata struct {
	// Resource is the resource identifier, an https URL without query or
	// fragment (for example "https://api.example.com/mcp"). It is the
	// audience clients ask tokens for (RFC 8707), and it fixes where the
	// document is served: see [MetadataHandler.URL].
	Resource string `json:"resource"`
	// AuthorizationServers lists the issuer identifiers of the authorization
	// servers that issue tokens for this resource; clients read their RFC
	// 8414 metadata.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	// JWKSURI is the resource's own JWK Set, for signed responses (rare).
	JWKSURI string `json:"jwks_uri,omitempty"`
	// ScopesSupported lists the scopes the resource understands.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// BearerMethodsSupported lists how tokens may be sent: "header", "body",
	// "query" (RFC 6750 sections 2.1 to 2.3), to match [Config]. Nil means
	// ["header"]; an empty non-nil slice publishes [], no bearer method
	// (for resources that accept only sender-constrained tokens).
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	// ResourceSigningAlgValuesSupported lists the JWS algorithms the
	// resource signs responses with.
	ResourceSigningAlgValuesSupported []string `json:"resource_signing_alg_values_supported,omitempty"`
	// ResourceName is a human-readable name of the resource.
	ResourceName string `json:"resource_name,omitempty"`
	// ResourceDocumentation is the URL of the resource's developer
	// documentation.
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
	// ResourcePolicyURI is the URL of the resource's data usage policy.
	ResourcePolicyURI string `json:"resource_policy_uri,omitempty"`
	// ResourceTOSURI is the URL of the resource's terms of service.
	ResourceTOSURI string `json:"resource_tos_uri,omitempty"`
	// TLSClientCertificateBoundAccessTokens says the resource supports
	// mutual-TLS certificate-bound tokens (RFC 8705).
	TLSClientCertificateBoundAccessTokens bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	// DPoPSigningAlgValuesSupported lists the JWS algorithms accepted for
	// DPoP proofs (RFC 9449).
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
	// DPoPBoundAccessTokensRequired says the resource always requires
	// DPoP-bound tokens.
	DPoPBoundAccessTokensRequired bool `json:"dpop_bound_access_tokens_required,omitempty"`
	// Extra holds further members (extensions). A name that the fields above
	// already define is an error.
	Extra map[string]any `json:"-"`
}

// MetadataHandler serves one [ResourceMetadata] document at its RFC 9728
// locations: the path-inserted well-known URL of the resource (see URL) and,
// for a resource with a path, also the bare /.well-known/oauth-protected-resource,
// where some clients look first. The document is encoded once; where it is
// served comes from the configured resource identifier only, never from the
// request's Host or X-Forwarded-* headers.
type MetadataHandler struct {
	doc   []byte
	url   string
	paths []string
}

// NewMetadataHandler checks md and returns a handler serving it. Register it
// at each of its [MetadataHandler.Paths], or under a prefix: it answers 404
// for any other path.
func NewMetadataHandler(md ResourceMetadata) (*MetadataHandler, error) {
	u, err := checkResource(md.Resource)
	if err != nil {
		return nil, fmt.Errorf("middleware: resource %q: %w", md.Resource, err)
	}
	for _, as := range md.AuthorizationServers {
		if err := checkURL(as); err != nil {
			return nil, fmt.Errorf("middleware: authorization server %q: %w", as, err)
		}
	}
	for name, v := range map[string]string{
		"jwks_uri": md.JWKSURI, "resource_documentation": md.ResourceDocumentation,
		"resource_policy_uri": md.ResourcePolicyURI, "resource_tos_uri": md.ResourceTOSURI,
	} {
		if v == "" {
			continue
		}
		if err := checkURL(v); err != nil {
			return nil, fmt.Errorf("middleware: %s %q: %w", name, v, err)
		}
	}
	if err := checkScopes(md.ScopesSupported); err != nil {
		return nil, fmt.Errorf("middleware: scopes_supported: %w", err)
	}
	if md.BearerMethodsSupported == nil {
		md.BearerMethodsSupported = []string{"header"}
	}
	for _, bm := range md.BearerMethodsSupported {
		if bm != "header" && bm != "body" && bm != "query" {
			return nil, fmt.Errorf("middleware: bearer method %q: want header, body or query", bm)
		}
	}
	doc, err := encodeMetadata(md)
	if err != nil {
		return nil, err
	}
	h := &MetadataHandler{doc: doc, paths: []string{WellKnownPath}}
	path := u.EscapedPath()
	if path == "/" {
		path = ""
	}
	h.url = u.Scheme + "://" + u.Host + WellKnownPath + path
	if path != "" {
		h.paths = []string{WellKnownPath + u.Path, WellKnownPath}
	}
	return h, nil
}

// checkResource checks a resource identifier (RFC 9728 section 1.2): an
// absolute https URL (http for loopback) without fragment, and here also
// without query, which the path-inserted well-known URL cannot serve
// unambiguously.
func checkResource(s string) (*url.URL, error) {
	if err := checkURL(s); err != nil {
		return nil, err
	}
	u, _ := url.Parse(s) // checkURL parsed it
	if u.RawQuery != "" || u.ForceQuery {
		return nil, errors.New("must not contain a query")
	}
	return u, nil
}

func encodeMetadata(md ResourceMetadata) ([]byte, error) {
	doc, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("middleware: encoding resource metadata: %w", err)
	}
	if len(md.Extra) == 0 {
		return doc, nil
	}
	var known map[string]json.RawMessage
	if err := json.Unmarshal(doc, &known); err != nil {
		return nil, fmt.Errorf("middleware: encoding resource metadata: %w", err)
	}
	names := make([]string, 0, len(md.Extra))
	for name := range md.Extra {
		names = append(names, name)
	}
	slices.Sort(names)
	var b bytes.Buffer
	b.Write(doc[:len(doc)-1]) // without the closing brace
	for _, name := range names {
		if _, dup := known[name]; dup || name == "" || isStandardMember(name) {
			return nil, fmt.Errorf("middleware: extra member %q: empty or defined by RFC 9728", name)
		}
		k, _ := json.Marshal(name)
		v, err := json.Marshal(md.Extra[name])
		if err != nil {
			return nil, fmt.Errorf("middleware: extra member %q: %w", name, err)
		}
		b.WriteByte(',')
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// isStandardMember reports whether name is a member ResourceMetadata defines
// (it may be absent from a document because it was empty).
func isStandardMember(name string) bool {
	switch name {
	case "resource", "authorization_servers", "jwks_uri", "scopes_supported", "bearer_methods_supported",
		"resource_signing_alg_values_supported", "resource_name", "resource_documentation",
		"resource_policy_uri", "resource_tos_uri", "tls_client_certificate_bound_access_tokens",
		"dpop_signing_alg_values_supported", "dpop_bound_access_tokens_required", "signed_metadata":
		return true
	}
	return false
}

// URL returns the URL the document is served at: the resource identifier
// with /.well-known/oauth-protected-resource inserted between host and path
// (RFC 9728 section 3.1). Put it in [Config.ResourceMetadataURL].
func (h *MetadataHandler) URL() string { return h.url }

// Paths returns the request paths the handler answers: the path of URL and,
// for a resource with a path, /.well-known/oauth-protected-resource.
func (h *MetadataHandler) Paths() []string { return slices.Clone(h.paths) }

// Document returns a copy of the JSON document.
func (h *MetadataHandler) Document() []byte { return bytes.Clone(h.doc) }

// ServeHTTP answers GET and HEAD at one of Paths with the document, 404 at
// any other path and 405 for other methods. The document is public, so it
// allows every origin (browser-based clients fetch it cross-origin).
func (h *MetadataHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(h.paths, r.URL.Path) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Access-Control-Allow-Origin", "*")
	hdr.Set("Content-Length", strconv.Itoa(len(h.doc)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(h.doc)
	}
}
