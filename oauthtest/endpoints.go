package oauthtest

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

func (s *Server) serveMetadata(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                        s.issuer,
		"jwks_uri":                                      s.JWKSURL(),
		"token_endpoint":                                s.TokenURL(),
		"introspection_endpoint":                        s.IntrospectionURL(),
		"revocation_endpoint":                           s.RevocationURL(),
		"grant_types_supported":                         []string{"client_credentials"},
		"response_types_supported":                      []string{"token"},
		"subject_types_supported":                       []string{"public"},
		"id_token_signing_alg_values_supported":         []string{"RS256"},
		"token_endpoint_auth_methods_supported":         authMethods,
		"introspection_endpoint_auth_methods_supported": authMethods,
		"revocation_endpoint_auth_methods_supported":    authMethods,
	})
}

var authMethods = []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}

func (s *Server) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	keys := slices.Clone(s.keys)
	s.mu.Unlock()
	set := struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: make([]json.RawMessage, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.PublicJWK(s.cfg.OmitKeyAlg))
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	writeJSONBody(w, http.StatusOK, set)
}

// serveToken implements the client credentials grant (RFC 6749 section 4.4)
// with resource indicators (RFC 8707): "resource" becomes the audience.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	c, ok := s.authenticate(w, r, s.TokenURL())
	if !ok {
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	var scopes []string
	if sc := r.PostForm.Get("scope"); sc != "" {
		scopes = strings.Fields(sc)
	} else if c.Scopes != nil {
		scopes = slices.Clone(c.Scopes)
	}
	if c.Scopes != nil {
		for _, sc := range scopes {
			if !slices.Contains(c.Scopes, sc) {
				writeError(w, http.StatusBadRequest, "invalid_scope", "scope not allowed for this client")
				return
			}
		}
	}
	o := TokenOptions{Subject: c.ID, ClientID: c.ID, Scopes: scopes}
	if res := r.PostForm["resource"]; len(res) > 0 {
		o.Audience = res
	}
	var token string
	if c.Opaque {
		token = s.Opaque(o)
	} else {
		token = s.JWT(o)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int(s.cfg.TokenLifetime / time.Second),
		"scope":        strings.Join(scopes, " "),
	})
}

// serveIntrospection implements RFC 7662. Opaque tokens minted by the server
// are active until they expire or are revoked; anything else is inactive.
func (s *Server) serveIntrospection(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authenticate(w, r, s.IntrospectionURL()); !ok {
		return
	}
	token := r.PostForm.Get("token")
	s.mu.Lock()
	claims, known := s.opaque[token]
	revoked := s.revoked[token]
	s.mu.Unlock()
	if !known || revoked || expired(claims, s.now()) {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	resp := map[string]any{"active": true, "token_type": "Bearer"}
	for name, v := range claims {
		resp[name] = v
	}
	writeJSON(w, http.StatusOK, resp)
}

// serveRevocation implements RFC 7009: the token is revoked, and the answer
// is 200 whether or not it was known.
func (s *Server) serveRevocation(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authenticate(w, r, s.RevocationURL()); !ok {
		return
	}
	if token := r.PostForm.Get("token"); token != "" {
		s.Revoke(token)
	}
	w.WriteHeader(http.StatusOK)
}

func expired(claims map[string]any, now time.Time) bool {
	var exp float64
	switch v := claims["exp"].(type) {
	case int64:
		exp = float64(v)
	case int:
		exp = float64(v)
	case float64:
		exp = v
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return true
		}
		exp = f
	case nil:
		return false
	default:
		return true
	}
	return float64(now.Unix()) >= exp
}

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// authenticate checks the client's credentials: client_secret_basic,
// client_secret_post or private_key_jwt. On failure it answers 401
// invalid_client and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, endpoint string) (Client, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return Client{}, false
	}
	fail := func() (Client, bool) {
		w.Header().Set("WWW-Authenticate", `Basic realm="oauthtest"`)
		writeError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return Client{}, false
	}
	var id, secret, assertion string
	if u, p, ok := r.BasicAuth(); ok {
		// RFC 6749 section 2.3.1: both are form-encoded before Basic encoding.
		var err1, err2 error
		id, err1 = url.QueryUnescape(u)
		secret, err2 = url.QueryUnescape(p)
		if err1 != nil || err2 != nil || r.PostForm.Has("client_secret") || r.PostForm.Has("client_assertion") {
			return fail()
		}
	} else if r.PostForm.Get("client_assertion_type") == assertionType {
		assertion = r.PostForm.Get("client_assertion")
		id = r.PostForm.Get("client_id")
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	c, known := s.clients[id]
	s.mu.Unlock()
	if !known {
		return fail()
	}
	if assertion != "" {
		if c.Key == nil || !s.verifyAssertion(c, assertion, endpoint) {
			return fail()
		}
		return c, true
	}
	if c.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return fail()
	}
	return c, true
}

// verifyAssertion checks an RFC 7523 client assertion: signed by the
// client's key, iss and sub the client, aud the issuer or the endpoint, not
// expired.
func (s *Server) verifyAssertion(c Client, assertion, endpoint string) bool {
	tok, err := jwt.Parse([]byte(assertion),
		jwt.WithKey(jwa.SignatureAlgorithm(c.Key.Algorithm()), c.Key.Public()),
		jwt.WithValidate(true), jwt.WithClock(jwt.ClockFunc(s.now)),
		jwt.WithIssuer(c.ID), jwt.WithSubject(c.ID))
	if err != nil {
		return false
	}
	if (c.ID != "" && tok.Subject() != c.ID) || tok.Expiration().IsZero() {
		return false
	}
	for _, aud := range tok.Audience() {
		if aud == s.issuer || aud == endpoint || aud == s.TokenURL() {
			return true
		}
	}
	return false
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	writeJSONBody(w, status, v)
}

func writeJSONBody(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "oauthtest: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
