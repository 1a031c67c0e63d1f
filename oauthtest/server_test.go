package oauthtest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"go.uber.org/goleak"

	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func getJSON(t *testing.T, c *http.Client, u string) (int, map[string]any) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	body, _ := io.ReadAll(resp.Body)
	if len(body) > 0 {
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("GET %s: not JSON: %q", u, body)
		}
	}
	return resp.StatusCode, m
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values, user, pass string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// verify checks a minted token against the published JWK Set, the way a
// resource server would, and returns its claims and header.
func verify(t *testing.T, as *oauthtest.Server, token string) (map[string]any, map[string]any) {
	t.Helper()
	resp, err := as.Client().Get(as.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	keys, skipped, err := jwks.ParseSet(body, 0)
	if err != nil || len(skipped) > 0 {
		t.Fatalf("JWKS: %v, skipped %v", err, skipped)
	}
	parts := strings.Split(token, ".")
	var header map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	_ = json.Unmarshal(hb, &header)
	for _, k := range keys {
		if k.ID() != header["kid"] {
			continue
		}
		payload, err := jws.Verify([]byte(token), jws.WithKey(jwa.SignatureAlgorithm(header["alg"].(string)), k.Public()))
		if err != nil {
			t.Fatalf("signature: %v", err)
		}
		var claims map[string]any
		_ = json.Unmarshal(payload, &claims)
		return claims, header
	}
	t.Fatalf("kid %v not in the JWK Set", header["kid"])
	return nil, nil
}

func TestDiscoveryDocuments(t *testing.T) {
	for _, path := range []string{"", "/tenants/a"} {
		t.Run("issuer path "+path, func(t *testing.T) {
			as := oauthtest.New(oauthtest.Config{IssuerPath: path})
			defer as.Close()
			if as.Issuer() != as.URL+path {
				t.Fatalf("Issuer = %q", as.Issuer())
			}
			for _, u := range []string{as.OpenIDConfigurationURL(), as.MetadataURL()} {
				status, doc := getJSON(t, as.Client(), u)
				if status != 200 || doc["issuer"] != as.Issuer() || doc["jwks_uri"] != as.JWKSURL() ||
					doc["introspection_endpoint"] != as.IntrospectionURL() || doc["token_endpoint"] != as.TokenURL() {
					t.Fatalf("GET %s = %d %v", u, status, doc)
				}
			}
			if path != "" && !strings.Contains(as.MetadataURL(), "/.well-known/oauth-authorization-server/tenants/a") {
				t.Fatalf("RFC 8414 URL lacks path insertion: %s", as.MetadataURL())
			}
			if as.Requests(oauthtest.EndpointOpenIDConfiguration) != 1 || as.Requests(oauthtest.EndpointServerMetadata) != 1 {
				t.Fatal("requests not counted per endpoint")
			}
		})
	}
}

func TestJWTDefaultsAndOverrides(t *testing.T) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "ES384", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			as := oauthtest.New(oauthtest.Config{Algorithm: alg})
			defer as.Close()
			before := time.Now().Unix()
			claims, header := verify(t, as, as.JWT(oauthtest.TokenOptions{Scopes: []string{"read", "write"}}))
			if header["typ"] != "at+jwt" || header["alg"] != alg || header["kid"] != as.SigningKey().ID() {
				t.Fatalf("header = %v", header)
			}
			exp, iat := claims["exp"].(float64), claims["iat"].(float64)
			if claims["iss"] != as.Issuer() || claims["aud"] != oauthtest.DefaultAudience || claims["sub"] != "user-123" ||
				claims["client_id"] != "client-app" || claims["scope"] != "read write" || claims["jti"] == "" ||
				int64(iat) < before || exp-iat != 3600 {
				t.Fatalf("claims = %v", claims)
			}
		})
	}
	as := oauthtest.NewServer()
	defer as.Close()
	claims, header := verify(t, as, as.JWT(oauthtest.TokenOptions{
		Subject: "bob", Audience: []string{"a", "b"}, Lifetime: -time.Minute,
		Claims: map[string]any{"tenant": "acme", "jti": nil},
		Header: map[string]any{"typ": "JWT"},
	}))
	if header["typ"] != "JWT" || claims["sub"] != "bob" || claims["tenant"] != "acme" || claims["jti"] != nil {
		t.Fatalf("overrides not applied: %v %v", header, claims)
	}
	if aud, _ := claims["aud"].([]any); len(aud) != 2 {
		t.Fatalf("aud = %v", claims["aud"])
	}
	if exp := int64(claims["exp"].(float64)); exp > time.Now().Add(-50*time.Second).Unix() {
		t.Fatalf("negative lifetime did not mint an expired token: exp %d", exp)
	}
}

func TestKeyRotation(t *testing.T) {
	as := oauthtest.New(oauthtest.Config{OmitKeyAlg: true})
	defer as.Close()
	old := as.SigningKey()
	oldToken := as.JWT(oauthtest.TokenOptions{})
	k := as.RotateKey("ES256")
	if k.ID() == old.ID() || as.SigningKey() != k || k.Algorithm() != "ES256" {
		t.Fatal("RotateKey did not switch the signing key")
	}
	_, header := verify(t, as, as.JWT(oauthtest.TokenOptions{}))
	if header["kid"] != k.ID() {
		t.Fatalf("new token signed with %v", header["kid"])
	}
	verify(t, as, oldToken) // the old key is still published
	_, set := getJSON(t, as.Client(), as.JWKSURL())
	for _, m := range set["keys"].([]any) {
		if _, ok := m.(map[string]any)["alg"]; ok {
			t.Fatal("OmitKeyAlg still publishes alg")
		}
	}
	as.RemoveKey(old.ID())
	_, set = getJSON(t, as.Client(), as.JWKSURL())
	if n := len(set["keys"].([]any)); n != 1 {
		t.Fatalf("after RemoveKey the set has %d keys", n)
	}
	foreign := oauthtest.NewKey("RS256")
	as.PublishKey(foreign)
	_, set = getJSON(t, as.Client(), as.JWKSURL())
	if n := len(set["keys"].([]any)); n != 2 {
		t.Fatalf("after PublishKey the set has %d keys", n)
	}
}

func TestTokenEndpointClientAuthentication(t *testing.T) {
	rsKey := oauthtest.NewKey("ES256")
	as := oauthtest.New(oauthtest.Config{Clients: []oauthtest.Client{
		{ID: "basic", Secret: "s3cret:+/", Scopes: []string{"read", "write"}},
		{ID: "post", Secret: "p0st"},
		{ID: "jwt", Key: rsKey},
		{ID: "opaque", Secret: "o", Opaque: true},
	}})
	defer as.Close()
	grant := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}, "resource": {"https://orders.example"}}

	status, resp := postForm(t, as.Client(), as.TokenURL(), grant, "basic", "s3cret:+/")
	if status != 200 || resp["token_type"] != "Bearer" || resp["scope"] != "read" {
		t.Fatalf("basic: %d %v", status, resp)
	}
	claims, _ := verify(t, as, resp["access_token"].(string))
	if claims["aud"] != "https://orders.example" || claims["client_id"] != "basic" {
		t.Fatalf("claims = %v", claims)
	}
	if status, _ := postForm(t, as.Client(), as.TokenURL(), grant, "basic", "wrong"); status != 401 {
		t.Fatalf("wrong secret: %d", status)
	}
	bad := url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}
	if status, resp := postForm(t, as.Client(), as.TokenURL(), bad, "basic", "s3cret:+/"); status != 400 || resp["error"] != "invalid_scope" {
		t.Fatalf("scope not allowed: %d %v", status, resp)
	}

	post := url.Values{"grant_type": {"client_credentials"}, "client_id": {"post"}, "client_secret": {"p0st"}}
	if status, resp := postForm(t, as.Client(), as.TokenURL(), post, "", ""); status != 200 || resp["access_token"] == nil {
		t.Fatalf("post: %d %v", status, resp)
	}

	assertion := func(aud string) string {
		tok, _ := jwt.NewBuilder().Issuer("jwt").Subject("jwt").Audience([]string{aud}).
			Expiration(time.Now().Add(time.Minute)).JwtID("a1").Build()
		signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, rsKey.Private()))
		if err != nil {
			t.Fatal(err)
		}
		return string(signed)
	}
	pkj := url.Values{"grant_type": {"client_credentials"}, "client_id": {"jwt"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion(as.TokenURL())}}
	if status, resp := postForm(t, as.Client(), as.TokenURL(), pkj, "", ""); status != 200 {
		t.Fatalf("private_key_jwt: %d %v", status, resp)
	}
	pkj.Set("client_assertion", assertion("https://elsewhere.example"))
	if status, _ := postForm(t, as.Client(), as.TokenURL(), pkj, "", ""); status != 401 {
		t.Fatalf("assertion for another audience accepted: %d", status)
	}

	status, resp = postForm(t, as.Client(), as.TokenURL(), url.Values{"grant_type": {"client_credentials"}}, "opaque", "o")
	if status != 200 || strings.Count(resp["access_token"].(string), ".") != 0 {
		t.Fatalf("opaque client got %d %v", status, resp)
	}
}

func TestIntrospectionAndRevocation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := oauthtest.New(oauthtest.Config{InMemory: true})
		defer as.Close()
		tok := as.Opaque(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"read"}, Lifetime: time.Minute})
		introspect := func(token, id, secret string) (int, map[string]any) {
			return postForm(t, as.Client(), as.IntrospectionURL(), url.Values{"token": {token}}, id, secret)
		}
		status, resp := introspect(tok, oauthtest.DefaultClientID, oauthtest.DefaultClientSecret)
		if status != 200 || resp["active"] != true || resp["sub"] != "alice" || resp["scope"] != "read" || resp["token_type"] != "Bearer" {
			t.Fatalf("active token: %d %v", status, resp)
		}
		if status, _ := introspect(tok, oauthtest.DefaultClientID, "wrong"); status != 401 {
			t.Fatalf("bad credentials: %d", status)
		}
		if _, resp := introspect("unknown", oauthtest.DefaultClientID, oauthtest.DefaultClientSecret); resp["active"] != false || len(resp) != 1 {
			t.Fatalf("unknown token: %v", resp)
		}
		time.Sleep(time.Minute) // fake time: the token expires
		if _, resp := introspect(tok, oauthtest.DefaultClientID, oauthtest.DefaultClientSecret); resp["active"] != false {
			t.Fatalf("expired token: %v", resp)
		}
		tok2 := as.Opaque(oauthtest.TokenOptions{})
		status, _ = postForm(t, as.Client(), as.RevocationURL(), url.Values{"token": {tok2}}, oauthtest.DefaultClientID, oauthtest.DefaultClientSecret)
		if _, resp := introspect(tok2, oauthtest.DefaultClientID, oauthtest.DefaultClientSecret); status != 200 || resp["active"] != false {
			t.Fatalf("revoked token: %d %v", status, resp)
		}
	})
}

func TestFailureInjection(t *testing.T) {
	as := oauthtest.NewServer()
	defer as.Close()
	as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusServiceUnavailable})
	if status, _ := getJSON(t, as.Client(), as.JWKSURL()); status != 503 {
		t.Fatalf("status failure: %d", status)
	}
	as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Body: "<html>"})
	resp, err := as.Client().Get(as.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "<html>" {
		t.Fatalf("garbage failure: %d %q", resp.StatusCode, body)
	}
	as.Heal(oauthtest.EndpointJWKS)
	as.SetHeader(oauthtest.EndpointJWKS, "Cache-Control", "max-age=300")
	resp, err = as.Client().Get(as.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "max-age=300" {
		t.Fatalf("healed: %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if n := as.Requests(oauthtest.EndpointJWKS); n != 3 {
		t.Fatalf("JWKS requests = %d, want 3", n)
	}
}

func TestHangEndsWithTheClientOrTheServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := oauthtest.New(oauthtest.Config{InMemory: true})
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Hang: true})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, as.JWKSURL(), nil)
		start := time.Now()
		if _, err := as.Client().Do(req); err == nil || time.Since(start) != 3*time.Second {
			t.Fatalf("hang did not end with the client's context: %v after %v", err, time.Since(start))
		}
		// A request still hanging when the server closes ends with Close.
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := as.Client().Get(as.JWKSURL())
			if err == nil {
				resp.Body.Close()
			}
		}()
		synctest.Wait()
		as.Close()
		wg.Wait()
	})
}

func TestLoopbackHangDoesNotBlockClose(t *testing.T) {
	arrived := make(chan struct{}, 1)
	as := oauthtest.New(oauthtest.Config{OnRequest: func(oauthtest.Endpoint, *http.Request) { arrived <- struct{}{} }})
	as.Fail(oauthtest.EndpointIntrospection, oauthtest.Failure{Hang: true})
	errc := make(chan error, 1)
	go func() {
		resp, err := as.Client().Post(as.IntrospectionURL(), "application/x-www-form-urlencoded", strings.NewReader("token=x"))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-arrived
	as.Close()
	if err := <-errc; err == nil {
		t.Fatal("a request hanging when the server closed got an answer; want a dropped connection")
	}
}
