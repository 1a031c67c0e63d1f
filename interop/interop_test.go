//go:build interop && unix

package interop

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/validator"
)

// TestDiscovery finds the keys (and the introspection endpoint) through each
// of the authorization server's metadata documents, then accepts a token.
func TestDiscovery(t *testing.T) {
	as := shared
	docs := map[string]map[string]any{}
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		status, body := as.get(t, path)
		if status != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, status)
		}
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		for member, want := range map[string]string{
			"issuer":                 as.Issuer,
			"jwks_uri":               as.url("/jwks"),
			"token_endpoint":         as.url("/token"),
			"introspection_endpoint": as.url("/token/introspection"),
			"revocation_endpoint":    as.url("/token/revocation"),
		} {
			if doc[member] != want {
				t.Errorf("GET %s: %s is %v, want %s", path, member, doc[member], want)
			}
		}
		docs[path] = doc
	}
	if !reflect.DeepEqual(docs["/.well-known/openid-configuration"], docs["/.well-known/oauth-authorization-server"]) {
		t.Error("the two metadata documents differ")
	}

	for _, tc := range []struct {
		name      string
		discovery jwks.Discovery
	}{
		{"openid-configuration", jwks.DiscoveryOIDC},
		{"oauth-authorization-server", jwks.DiscoveryOAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := newResourceServer(t, as, rsOptions{discovery: &tc.discovery})
			jwt := as.token(t, basicClient, "read", resourceFor("ES256"))
			wantOK(t, rs.call(t, "/read", jwt.AccessToken), basicClient)
			// The introspection endpoint is found through the metadata too.
			opaque := as.token(t, basicClient, "read", "")
			wantOK(t, rs.call(t, "/read", opaque.AccessToken), basicClient)
		})
	}
}

// TestJWTAlgorithms accepts a JWT access token signed with each algorithm
// and hands the handler the principal the token describes.
func TestJWTAlgorithms(t *testing.T) {
	as := shared
	rs := newResourceServer(t, as, rsOptions{})
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			tr := as.token(t, basicClient, "read write", resourceFor(alg))
			header, claims := jwtParts(t, tr.AccessToken)
			if header["alg"] != alg || header["typ"] != "at+jwt" || header["kid"] != as.Kids[alg] {
				t.Fatalf("the server issued a token with header %v, want alg %s, typ at+jwt, kid %s", header, alg, as.Kids[alg])
			}

			a := rs.call(t, "/read", tr.AccessToken)
			wantOK(t, a, basicClient)
			p := a.principal
			if p.Subject != basicClient || p.Issuer != as.Issuer || p.Kind != "jwt" {
				t.Errorf("principal sub %q iss %q kind %q, want %q %q jwt", p.Subject, p.Issuer, p.Kind, basicClient, as.Issuer)
			}
			if !slices.Equal(p.Audiences, []string{audience}) {
				t.Errorf("principal aud %v, want [%s]", p.Audiences, audience)
			}
			if !slices.Equal(p.Scopes, []string{"read", "write"}) {
				t.Errorf("principal scopes %v, want [read write]", p.Scopes)
			}
			if p.TokenID == "" || p.TokenID != claims["jti"] {
				t.Errorf("principal jti %q, want the token's %v", p.TokenID, claims["jti"])
			}
			if exp := int64(claims["exp"].(float64)); p.ExpiresAt.Unix() != exp {
				t.Errorf("principal exp %v, want %d", p.ExpiresAt, exp)
			}
		})
	}
}

// TestClientAuthentication gets tokens with each way a client authenticates
// at the token endpoint, and both kinds of token work.
func TestClientAuthentication(t *testing.T) {
	as := shared
	rs := newResourceServer(t, as, rsOptions{})
	for _, tc := range []struct{ name, client string }{
		{"client_secret_basic", basicClient},
		{"client_secret_post", postClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jwt := as.token(t, tc.client, "read", resourceFor("EdDSA"))
			wantOK(t, rs.call(t, "/read", jwt.AccessToken), tc.client)
			opaque := as.token(t, tc.client, "read", "")
			wantOK(t, rs.call(t, "/read", opaque.AccessToken), tc.client)
		})
	}
}

// TestJWTForAnotherResource refuses a valid JWT of the same issuer that was
// issued for another API.
func TestJWTForAnotherResource(t *testing.T) {
	as := shared
	rs := newResourceServer(t, as, rsOptions{})
	ours := as.token(t, basicClient, "read", resourceFor("ES256"))
	wantOK(t, rs.call(t, "/read", ours.AccessToken), basicClient)

	theirs := as.token(t, basicClient, "read", otherResource)
	if _, claims := jwtParts(t, theirs.AccessToken); claims["aud"] != otherResource {
		t.Fatalf("the server issued aud %v, want %s", claims["aud"], otherResource)
	}
	wantRejected(t, rs.call(t, "/read", theirs.AccessToken), http.StatusUnauthorized,
		tollgate.ErrInvalidToken, "aud", `error="invalid_token"`)
}

// TestJWTExpired refuses a short-lived JWT once its exp (and the leeway)
// has passed on the resource server's clock.
func TestJWTExpired(t *testing.T) {
	as := shared
	rs := newResourceServer(t, as, rsOptions{})
	tr := as.token(t, basicClient, "read", shortResource)
	_, claims := jwtParts(t, tr.AccessToken)
	exp := time.Unix(int64(claims["exp"].(float64)), 0)
	if tr.ExpiresIn > 2 {
		t.Fatalf("the server issued a token for %d s, want a short-lived one", tr.ExpiresIn)
	}
	// The clock starts inside the leeway, so the token is still accepted.
	wantOK(t, rs.call(t, "/read", tr.AccessToken), basicClient)

	rs.clock.advance(time.Until(exp) + validator.DefaultLeeway + time.Second)
	a := rs.call(t, "/read", tr.AccessToken)
	wantRejected(t, a, http.StatusUnauthorized, tollgate.ErrExpired, "exp", `error="invalid_token"`)
}

// TestOpaqueIntrospection accepts an opaque token through the introspection
// endpoint.
func TestOpaqueIntrospection(t *testing.T) {
	as := shared
	t.Run("no audience", func(t *testing.T) {
		rs := newResourceServer(t, as, rsOptions{})
		tr := as.token(t, basicClient, "read write", "")
		if strings.Count(tr.AccessToken, ".") == 2 {
			t.Fatal("the server issued a JWT for a request without resource")
		}
		a := rs.call(t, "/read", tr.AccessToken)
		wantOK(t, a, basicClient)
		p := a.principal
		if p.Kind != "opaque" || p.Issuer != as.Issuer || !slices.Equal(p.Scopes, []string{"read", "write"}) {
			t.Errorf("principal kind %q iss %q scopes %v, want opaque %q [read write]", p.Kind, p.Issuer, p.Scopes, as.Issuer)
		}
		if want := time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second); p.ExpiresAt.Before(want.Add(-time.Minute)) || p.ExpiresAt.After(want.Add(time.Minute)) {
			t.Errorf("principal exp %v, want about %v", p.ExpiresAt, want)
		}
	})
	t.Run("audience required", func(t *testing.T) {
		rs := newResourceServer(t, as, rsOptions{introspectionAudiences: []string{audience}})
		withAud := as.token(t, basicClient, "read", opaqueWithAud)
		a := rs.call(t, "/read", withAud.AccessToken)
		wantOK(t, a, basicClient)
		if !slices.Equal(a.principal.Audiences, []string{audience}) {
			t.Errorf("principal aud %v, want [%s]", a.principal.Audiences, audience)
		}
		// oidc-provider's answer for a token without a resource has no aud.
		withoutAud := as.token(t, basicClient, "read", "")
		wantRejected(t, rs.call(t, "/read", withoutAud.AccessToken), http.StatusUnauthorized,
			tollgate.ErrInvalidToken, "aud", `error="invalid_token"`)
	})
}

// TestOpaqueRevoked refuses a revoked opaque token once the cached answer
// has run out (the revocation latency, introspect.Config.CacheMaxTTL).
func TestOpaqueRevoked(t *testing.T) {
	as := shared
	rs := newResourceServer(t, as, rsOptions{})
	tr := as.token(t, postClient, "read", "")
	wantOK(t, rs.call(t, "/read", tr.AccessToken), postClient)

	as.revoke(t, postClient, tr.AccessToken)
	if active := as.introspect(t, tr.AccessToken)["active"]; active != false {
		t.Fatalf("after revocation the server says active: %v", active)
	}
	// Within the cache's lifetime the answer given before still stands.
	rs.clock.advance(introspect.DefaultCacheMaxTTL - time.Second)
	wantOK(t, rs.call(t, "/read", tr.AccessToken), postClient)

	rs.clock.advance(2 * time.Second)
	wantRejected(t, rs.call(t, "/read", tr.AccessToken), http.StatusUnauthorized,
		tollgate.ErrInvalidToken, "active", `error="invalid_token"`)
}

// TestInsufficientScope answers 403 to a valid token without the scope a
// route needs, for both kinds of token.
func TestInsufficientScope(t *testing.T) {
	as := shared
	rs := newResourceServer(t, as, rsOptions{})
	for _, tc := range []struct{ name, resource string }{
		{"jwt", resourceFor("RS256")},
		{"opaque", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readOnly := as.token(t, readClient, "read", tc.resource)
			if readOnly.Scope != "read" {
				t.Fatalf("the server granted %q, want read", readOnly.Scope)
			}
			wantOK(t, rs.call(t, "/read", readOnly.AccessToken), readClient)
			wantRejected(t, rs.call(t, "/write", readOnly.AccessToken), http.StatusForbidden,
				tollgate.ErrInsufficientScope, "scope", `error="insufficient_scope"`, `scope="write"`)

			readWrite := as.token(t, basicClient, "read write", tc.resource)
			wantOK(t, rs.call(t, "/write", readWrite.AccessToken), basicClient)
		})
	}
	t.Run("not granted", func(t *testing.T) {
		// The server itself refuses scopes beyond the client's.
		status, _ := as.requestToken(t, readClient, "write", "")
		if status != http.StatusBadRequest {
			t.Fatalf("token endpoint: status %d for a scope the client may not have, want 400", status)
		}
	})
}

// TestKeyRotation accepts tokens signed with keys that the authorization
// server started using after the resource server loaded its keys, without
// restarting the resource server; tokens of the old keys stay valid.
func TestKeyRotation(t *testing.T) {
	as := startAS(t)
	rs := newResourceServer(t, as, rsOptions{})
	before := map[string]string{}
	for _, alg := range algorithms {
		tr := as.token(t, basicClient, "read", resourceFor(alg))
		wantOK(t, rs.call(t, "/read", tr.AccessToken), basicClient)
		before[alg] = tr.AccessToken
	}
	old := as.Kids

	kids := as.rotate(t)
	// No clock advance: the key set has made no token-triggered fetch yet,
	// so the first new kid is fetched at once even though the keys were
	// loaded moments ago (only such fetches count against the rate limit).
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			if kids[alg] == old[alg] {
				t.Fatalf("rotation kept kid %s", kids[alg])
			}
			tr := as.token(t, basicClient, "read", resourceFor(alg))
			if header, _ := jwtParts(t, tr.AccessToken); header["kid"] != kids[alg] {
				t.Fatalf("new token has kid %v, want %s", header["kid"], kids[alg])
			}
			wantOK(t, rs.call(t, "/read", tr.AccessToken), basicClient)
			// Tokens of the old key are still good: it is still published.
			wantOK(t, rs.call(t, "/read", before[alg]), basicClient)
		})
	}
}

// TestAuthorizationServerDown keeps accepting JWTs signed with keys already
// loaded when the authorization server is gone, and answers 503 (no decision)
// for opaque tokens, which only the server can judge.
func TestAuthorizationServerDown(t *testing.T) {
	as := startAS(t)
	rs := newResourceServer(t, as, rsOptions{})
	// The resource server has been running: it holds the keys and knows the
	// introspection endpoint.
	for _, resource := range []string{resourceFor("ES256"), ""} {
		warm := as.token(t, basicClient, "read", resource)
		wantOK(t, rs.call(t, "/read", warm.AccessToken), basicClient)
	}
	// Tokens the resource server has not seen yet, so nothing is cached.
	jwts := map[string]string{}
	for _, alg := range algorithms {
		jwts[alg] = as.token(t, basicClient, "read", resourceFor(alg)).AccessToken
	}
	opaque := as.token(t, basicClient, "read", "").AccessToken

	if err := as.stop(); err != nil {
		t.Fatal(err)
	}
	if status, err := probe(as.url("/jwks")); err == nil {
		t.Fatalf("the stopped server still answers (status %d)", status)
	}

	for _, alg := range algorithms {
		t.Run("jwt "+alg, func(t *testing.T) {
			wantOK(t, rs.call(t, "/read", jwts[alg]), basicClient)
		})
	}
	t.Run("opaque", func(t *testing.T) {
		a := rs.call(t, "/read", opaque)
		wantRejected(t, a, http.StatusServiceUnavailable, tollgate.ErrUnavailable, "introspection")
		if a.challenge != "" {
			t.Errorf("503 with WWW-Authenticate %q", a.challenge)
		}
		if a.retry == "" {
			t.Error("503 without Retry-After")
		}
	})
}

// probe reports whether anything answers GET url.
func probe(url string) (int, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
