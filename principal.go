package tollgate

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"
)

// TokenKind says how a token was validated.
type TokenKind uint8

const (
	// KindJWT is a JWT access token validated locally (RFC 9068).
	KindJWT TokenKind = iota + 1
	// KindOpaque is a token validated by introspection (RFC 7662).
	KindOpaque
)

// String returns "jwt", "opaque" or "unknown".
func (k TokenKind) String() string {
	switch k {
	case KindJWT:
		return "jwt"
	case KindOpaque:
		return "opaque"
	}
	return "unknown"
}

// Confirmation is the "cnf" claim of a sender-constrained token (RFC 7800):
// the key the client must prove possession of. tollgate rejects such tokens
// when they are presented as plain bearer tokens; the type exists so that a
// proof-of-possession layer can read it.
type Confirmation struct {
	// JKT is the JWK SHA-256 thumbprint of a DPoP key (RFC 9449), "jkt".
	JKT string
	// X5TS256 is the SHA-256 thumbprint of a client certificate (RFC 8705),
	// "x5t#S256".
	X5TS256 string
}

// IsZero reports whether the confirmation is empty (a plain bearer token).
func (c Confirmation) IsZero() bool { return c == Confirmation{} }

// PrincipalInfo is the input to [NewPrincipal]. Validators fill it in from a
// token's claims or an introspection response; tests and custom validators
// fill it in directly.
type PrincipalInfo struct {
	Subject   string    // "sub"
	ClientID  string    // "client_id" (RFC 9068 section 2.2)
	Username  string    // "username" (introspection)
	Issuer    string    // "iss"
	Audiences []string  // "aud"
	Scopes    Scopes    // from "scope" or "scp"
	ExpiresAt time.Time // "exp"
	IssuedAt  time.Time // "iat"
	TokenID   string    // "jti"
	Kind      TokenKind
	// Confirmation is the "cnf" claim, if any.
	Confirmation Confirmation
	// Claims is the token's claims set (or introspection response) as a JSON
	// object, for [Principal.Claims]. Nil means no claims beyond the fields
	// above.
	Claims json.RawMessage
}

// Principal is the result of a successful validation: who presented the token
// and what it allows. A Principal is immutable once made - caches share one
// Principal between requests - so it is read through accessor methods, and
// slices are returned as copies.
type Principal struct {
	info PrincipalInfo
}

// NewPrincipal returns a Principal holding a copy of info. info.Claims should
// be a JSON object (or nil); it is not re-validated here, since validators
// have already parsed it, and [Principal.Claims] reports an error if it is not.
func NewPrincipal(info PrincipalInfo) *Principal {
	info.Claims = bytes.Clone(info.Claims)
	info.Audiences = slices.Clone(info.Audiences)
	return &Principal{info: info}
}

// Subject returns the "sub" claim: the resource owner, or the client itself
// for a client-credentials token.
func (p *Principal) Subject() string { return p.info.Subject }

// ClientID returns the OAuth client the token was issued to ("client_id").
func (p *Principal) ClientID() string { return p.info.ClientID }

// Username returns the human-readable identifier of the resource owner, when
// the introspection response carries one ("username").
func (p *Principal) Username() string { return p.info.Username }

// Issuer returns the "iss" claim.
func (p *Principal) Issuer() string { return p.info.Issuer }

// Audiences returns a copy of the "aud" claim.
func (p *Principal) Audiences() []string { return slices.Clone(p.info.Audiences) }

// HasAudience reports whether aud is among the token's audiences.
func (p *Principal) HasAudience(aud string) bool { return slices.Contains(p.info.Audiences, aud) }

// Scopes returns the token's scopes. [Scopes] is read-only, so no copy is made.
func (p *Principal) Scopes() Scopes { return p.info.Scopes }

// ExpiresAt returns the "exp" claim, or the zero time if the token has none
// (only possible for introspected tokens).
func (p *Principal) ExpiresAt() time.Time { return p.info.ExpiresAt }

// IssuedAt returns the "iat" claim, or the zero time.
func (p *Principal) IssuedAt() time.Time { return p.info.IssuedAt }

// TokenID returns the "jti" claim.
func (p *Principal) TokenID() string { return p.info.TokenID }

// Kind says whether the token was a JWT validated locally or an opaque token
// validated by introspection.
func (p *Principal) Kind() TokenKind { return p.info.Kind }

// Confirmation returns the "cnf" claim (empty for a bearer token).
func (p *Principal) Confirmation() Confirmation { return p.info.Confirmation }

// Claims decodes the token's whole claims set (for an introspected token, the
// introspection response) into dst, as [json.Unmarshal] does. Use it for
// custom claims:
//
//	var c struct {
//		Tenant string `json:"tenant"`
//	}
//	if err := p.Claims(&c); err != nil { ... }
func (p *Principal) Claims(dst any) error {
	if p.info.Claims == nil {
		return json.Unmarshal([]byte("{}"), dst)
	}
	return json.Unmarshal(p.info.Claims, dst)
}

// ClaimsJSON returns a copy of the raw claims as a JSON object ("{}" if none).
func (p *Principal) ClaimsJSON() []byte {
	if p.info.Claims == nil {
		return []byte("{}")
	}
	return bytes.Clone(p.info.Claims)
}
