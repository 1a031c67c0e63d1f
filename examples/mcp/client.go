package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// client walks the authorization flow of the MCP specification the way an
// MCP host does, knowing nothing but the server's URL and its own client
// credentials: call, read resource_metadata from the 401, fetch the
// protected resource metadata (RFC 9728), fetch the authorization server's
// metadata (RFC 8414), get a token for the resource (RFC 8707), call again;
// on 403 insufficient_scope, get a token with the scope the challenge names.
type client struct {
	http             *http.Client
	out              io.Writer
	clientID, secret string
	step             int
}

func (c *client) logf(format string, args ...any) {
	c.step++
	fmt.Fprintf(c.out, "%d. "+format+"\n", append([]any{c.step}, args...)...)
}

func (c *client) walk(ctx context.Context, endpoint string) error {
	res, err := c.rpc(ctx, endpoint, "", "tools/list")
	if err != nil {
		return err
	}
	c.logf("POST %s tools/list, no token -> %d %s", endpoint, res.status, res.challenge)
	if res.status != http.StatusUnauthorized {
		return fmt.Errorf("want 401, got %d", res.status)
	}
	_, params, err := parseChallenge(res.challenge)
	if err != nil {
		return err
	}
	metadataURL := params["resource_metadata"]
	if metadataURL == "" {
		return errors.New("the challenge has no resource_metadata")
	}

	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		ScopesSupported      []string `json:"scopes_supported"`
	}
	if err := c.getJSON(ctx, metadataURL, &prm); err != nil {
		return err
	}
	c.logf("GET %s -> resource %s, authorization servers %q, scopes %q", metadataURL, prm.Resource, prm.AuthorizationServers, prm.ScopesSupported)
	// RFC 9728 section 3.3: the document must be about the resource we called.
	if prm.Resource != endpoint || len(prm.AuthorizationServers) == 0 {
		return fmt.Errorf("metadata for %q names resource %q", endpoint, prm.Resource)
	}

	issuer := prm.AuthorizationServers[0]
	asMetadataURL, err := wellKnownURL(issuer, "/.well-known/oauth-authorization-server")
	if err != nil {
		return err
	}
	var as struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := c.getJSON(ctx, asMetadataURL, &as); err != nil {
		return err
	}
	c.logf("GET %s -> issuer %s, token endpoint %s", asMetadataURL, as.Issuer, as.TokenEndpoint)
	// RFC 8414 section 3.3: the issuer must be the one we asked about.
	if as.Issuer != issuer || as.TokenEndpoint == "" {
		return fmt.Errorf("metadata of %q names issuer %q", issuer, as.Issuer)
	}

	scopes := []string{"tools:read"}
	token, err := c.token(ctx, as.TokenEndpoint, endpoint, scopes)
	if err != nil {
		return err
	}
	if res, err = c.rpc(ctx, endpoint, token, "tools/list"); err != nil {
		return err
	}
	c.logf("POST %s tools/list -> %d %s", endpoint, res.status, res.body)
	if res.status != http.StatusOK {
		return fmt.Errorf("want 200, got %d", res.status)
	}

	if res, err = c.rpc(ctx, endpoint, token, "tools/call"); err != nil {
		return err
	}
	c.logf("POST %s tools/call -> %d %s", endpoint, res.status, res.challenge)
	if res.status != http.StatusForbidden {
		return fmt.Errorf("want 403, got %d", res.status)
	}
	_, params, err = parseChallenge(res.challenge)
	if err != nil {
		return err
	}
	if params["error"] != "insufficient_scope" || params["scope"] == "" {
		return fmt.Errorf("403 without insufficient_scope and scope: %s", res.challenge)
	}
	// Step up: keep the scopes held, add the ones the challenge names.
	for _, s := range strings.Fields(params["scope"]) {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	if token, err = c.token(ctx, as.TokenEndpoint, endpoint, scopes); err != nil {
		return err
	}
	if res, err = c.rpc(ctx, endpoint, token, "tools/call"); err != nil {
		return err
	}
	c.logf("POST %s tools/call -> %d %s", endpoint, res.status, res.body)
	if res.status != http.StatusOK {
		return fmt.Errorf("want 200, got %d", res.status)
	}
	return nil
}

type rpcResult struct {
	status    int
	challenge string
	body      string
}

func (c *client) rpc(ctx context.Context, endpoint, token, method string) (rpcResult, error) {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":%q}`, method)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return rpcResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return rpcResult{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return rpcResult{}, err
	}
	return rpcResult{status: res.StatusCode, challenge: res.Header.Get("WWW-Authenticate"), body: strings.TrimSpace(string(b))}, nil
}

func (c *client) getJSON(ctx context.Context, u string, dst any) error {
	if err := checkEndpoint(u); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", u, res.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(dst)
}

// token gets a token for resource with the client credentials grant.
func (c *client) token(ctx context.Context, endpoint, resource string, scopes []string) (string, error) {
	if err := checkEndpoint(endpoint); err != nil {
		return "", err
	}
	form := url.Values{
		"grant_type": {"client_credentials"},
		"scope":      {strings.Join(scopes, " ")},
		"resource":   {resource},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.clientID), url.QueryEscape(c.secret))
	res, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		Scope       string `json:"scope"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&tr); err != nil {
		return "", fmt.Errorf("token endpoint: %w", err)
	}
	if res.StatusCode != http.StatusOK || tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "Bearer") {
		return "", fmt.Errorf("token endpoint: status %d", res.StatusCode)
	}
	c.logf("POST %s scope=%q resource=%s -> %s token with scope %q", endpoint, form.Get("scope"), resource, tr.TokenType, tr.Scope)
	return tr.AccessToken, nil
}

// wellKnownURL inserts a well-known path between the host and the path of
// an identifier (RFC 8414 section 3.1, RFC 9728 section 3.1).
func wellKnownURL(id, wellKnown string) (string, error) {
	u, err := url.Parse(id)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("bad identifier %q", id)
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	return u.Scheme + "://" + u.Host + wellKnown + path, nil
}

// checkEndpoint refuses to send anything to a URL that is neither https nor
// loopback: metadata documents come from the network, and a client should
// not follow them anywhere.
func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if u.Scheme == "https" || u.Scheme == "http" && (host == "localhost" || host == "127.0.0.1" || host == "::1") {
		return nil
	}
	return fmt.Errorf("refusing to use %q: not https", s)
}

// parseChallenge reads one challenge of a WWW-Authenticate header (RFC 9110
// section 11.6.1): a scheme and comma-separated auth-params whose values are
// tokens or quoted strings.
func parseChallenge(h string) (scheme string, params map[string]string, err error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	params = map[string]string{}
	for rest = strings.TrimLeft(rest, " "); rest != ""; {
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			return "", nil, fmt.Errorf("bad challenge %q", h)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		after = strings.TrimLeft(after, " ")
		var value strings.Builder
		if strings.HasPrefix(after, `"`) {
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
				}
				value.WriteByte(after[i])
			}
			if i >= len(after) {
				return "", nil, fmt.Errorf("unterminated quoted string in %q", h)
			}
			after = after[i+1:]
		} else {
			v, _, _ := strings.Cut(after, ",")
			value.WriteString(strings.TrimSpace(v))
			after = after[len(v):]
		}
		params[name] = value.String()
		after = strings.TrimLeft(after, " ")
		if after != "" && after[0] != ',' {
			return "", nil, fmt.Errorf("bad challenge %q", h)
		}
		rest = strings.TrimLeft(strings.TrimPrefix(after, ","), " ")
	}
	return scheme, params, nil
}
