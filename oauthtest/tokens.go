package oauthtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// TokenOptions describes a token to mint. The zero value asks for a valid
// token with the server's defaults.
type TokenOptions struct {
	// Subject is the "sub" claim (default "user-123").
	Subject string
	// ClientID is the "client_id" claim (default "client-app").
	ClientID string
	// Scopes become the space-delimited "scope" claim (none by default).
	Scopes []string
	// Audience is the "aud" claim (default the server's audience). One value
	// is written as a string, several as an array.
	Audience []string
	// Lifetime sets "exp" relative to "iat" (default [Config.TokenLifetime]).
	// A negative lifetime mints a token that expired that long ago.
	Lifetime time.Duration
	// IssuedAt is the "iat" claim (default now).
	IssuedAt time.Time
	// Claims adds claims or replaces the defaults above; a claim whose value
	// is nil is removed (for example "exp": nil mints a token without exp).
	Claims map[string]any
	// Header adds or replaces JWS header members ("alg", "kid", "typ"...);
	// a nil value removes the member. Ignored for opaque tokens.
	Header map[string]any
	// Key signs the token instead of the server's signing key, for tokens
	// from a key that is not (or no longer) published. Ignored for opaque
	// tokens.
	Key *Key
}

// JWT mints a signed JWT access token (RFC 9068): header "typ": "at+jwt",
// claims iss, sub, aud, client_id, iat, exp, jti and scope (when Scopes is
// set), then o.Claims. It panics if the claims cannot be encoded as JSON.
func (s *Server) JWT(o TokenOptions) string {
	claims := s.claims(o)
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: claims: %v", err))
	}
	key := o.Key
	if key == nil {
		key = s.SigningKey()
	}
	header := map[string]any{"typ": "at+jwt"}
	for name, v := range o.Header {
		header[name] = v
	}
	return key.Sign(header, payload)
}

// Opaque mints an opaque token (a random string) whose introspection answer
// is active with the claims JWT would put in a token, until it expires or is
// revoked.
func (s *Server) Opaque(o TokenOptions) string {
	claims := s.claims(o)
	token := randomString(32)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opaque[token] = claims
	return token
}

// Revoke revokes an opaque token: introspection answers "active": false
// from now on. A JWT cannot be revoked at a resource server that validates
// it locally; Revoke records it all the same, for tests that assert exactly
// that.
func (s *Server) Revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[token] = true
}

func (s *Server) claims(o TokenOptions) map[string]any {
	now := s.now()
	iat := o.IssuedAt
	if iat.IsZero() {
		iat = now
	}
	lifetime := o.Lifetime
	var exp time.Time
	switch {
	case lifetime == 0:
		exp = iat.Add(s.cfg.TokenLifetime)
	case lifetime < 0:
		exp = now.Add(lifetime)
		if exp.Before(iat) {
			iat = exp.Add(-s.cfg.TokenLifetime)
		}
	default:
		exp = iat.Add(lifetime)
	}
	claims := map[string]any{
		"iss":       s.issuer,
		"sub":       "user-123",
		"client_id": "client-app",
		"iat":       iat.Unix(),
		"exp":       exp.Unix(),
		"jti":       randomString(12),
	}
	if o.Subject != "" {
		claims["sub"] = o.Subject
	}
	if o.ClientID != "" {
		claims["client_id"] = o.ClientID
	}
	switch aud := o.Audience; len(aud) {
	case 0:
		claims["aud"] = s.cfg.Audience
	case 1:
		claims["aud"] = aud[0]
	default:
		claims["aud"] = aud
	}
	if len(o.Scopes) > 0 {
		claims["scope"] = strings.Join(o.Scopes, " ")
	}
	for name, v := range o.Claims {
		if v == nil {
			delete(claims, name)
			continue
		}
		claims[name] = v
	}
	return claims
}
