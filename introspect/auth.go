package introspect

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// clientAuth adds the client's credentials to an introspection request.
type clientAuth struct {
	method   AuthMethod
	clientID string
	// basic is the precomputed Authorization header for client_secret_basic.
	basic  string
	secret Secret
	key    ClientKey
	ttl    time.Duration
}

func newClientAuth(s *settings) *clientAuth {
	a := &clientAuth{method: s.AuthMethod, clientID: s.ClientID, secret: s.ClientSecret, key: s.ClientKey, ttl: s.AssertionTTL}
	if a.method == ClientSecretBasic {
		// RFC 6749 section 2.3.1: the client identifier and password are
		// encoded with application/x-www-form-urlencoded, then used as the
		// Basic user-id and password. Skipping the first step breaks secrets
		// with ':', '%' or non-ASCII characters.
		cred := url.QueryEscape(s.ClientID) + ":" + url.QueryEscape(string(s.ClientSecret))
		a.basic = "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))
	}
	return a
}

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// apply adds the credentials: a header for client_secret_basic, form members
// otherwise. aud is the audience of a private_key_jwt assertion.
func (a *clientAuth) apply(h http.Header, form url.Values, aud string, now time.Time) error {
	switch a.method {
	case ClientSecretBasic:
		h.Set("Authorization", a.basic)
	case ClientSecretPost:
		form.Set("client_id", a.clientID)
		form.Set("client_secret", string(a.secret))
	case PrivateKeyJWT:
		assertion, err := a.assertion(aud, now)
		if err != nil {
			return err
		}
		form.Set("client_id", a.clientID)
		form.Set("client_assertion_type", assertionType)
		form.Set("client_assertion", assertion)
	}
	return nil
}

// errAssertion is returned when an assertion cannot be signed. The cause
// (from the JOSE library, or a KMS) is not wrapped: its text is not ours to
// vouch for.
var errAssertion = errors.New("could not sign the client assertion")

// assertion returns a fresh RFC 7523 client assertion: iss and sub the client
// ID, aud the authorization server, a short exp and a unique jti, so that a
// captured assertion is of little use and cannot be replayed where the server
// tracks jti.
func (a *clientAuth) assertion(aud string, now time.Time) (string, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", errAssertion
	}
	claims := struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Iat int64  `json:"iat"`
		Nbf int64  `json:"nbf"`
		Jti string `json:"jti"`
	}{a.clientID, a.clientID, aud, now.Add(a.ttl).Unix(), now.Unix(), now.Unix(), base64.RawURLEncoding.EncodeToString(jti[:])}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", errAssertion
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		return "", errAssertion
	}
	if a.key.KeyID != "" {
		if err := hdr.Set(jws.KeyIDKey, a.key.KeyID); err != nil {
			return "", errAssertion
		}
	}
	signed, err := jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(a.key.Algorithm), a.key.Signer, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", errAssertion
	}
	return string(signed), nil
}
