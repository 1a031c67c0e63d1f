package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/oauthtest"
)

// step is one request of the tour and the status it must get.
type step struct {
	title  string
	method string
	path   string
	token  string
	want   int
}

// tour sends every step and returns how many got an unexpected answer.
func (e *env) tour(ctx context.Context) (failed int) {
	readToken := e.as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}})
	steps := []step{
		{"a valid token", http.MethodGet, "/orders", readToken, http.StatusOK},
		{"no token", http.MethodGet, "/orders", "", http.StatusUnauthorized},
		{"an expired token", http.MethodGet, "/orders",
			e.as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}, Lifetime: -5 * 60e9}), http.StatusUnauthorized},
		{"a token for another API (wrong audience)", http.MethodGet, "/orders",
			e.as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}, Audience: []string{"https://billing.example"}}), http.StatusUnauthorized},
		{"a token whose signature was tampered with", http.MethodGet, "/orders", tamper(readToken), http.StatusUnauthorized},
		{"a valid token without the scope orders:write", http.MethodPost, "/orders", readToken, http.StatusForbidden},
		{"a token from an authorization server that was down before its keys were ever loaded", http.MethodGet, "/orders", e.partnerT, http.StatusServiceUnavailable},
	}
	for _, s := range steps {
		if !e.do(ctx, s) {
			failed++
		}
	}
	failed += e.opaqueTour(ctx)
	e.printMetadata(ctx)
	return failed
}

// opaqueTour shows opaque tokens: introspection, its cache, revocation and an
// authorization server that stops answering.
func (e *env) opaqueTour(ctx context.Context) (failed int) {
	calls := func() string {
		return fmt.Sprintf("      (introspection calls made to the authorization server so far: %d)\n",
			e.as.Requests(oauthtest.EndpointIntrospection))
	}
	check := func(ok bool) {
		if !ok {
			failed++
		}
	}
	opaque := e.as.Opaque(oauthtest.TokenOptions{Subject: "svc-reporting", Scopes: []string{"orders:read"}, Audience: []string{e.apiURL}})
	check(e.do(ctx, step{"an opaque token, validated by introspection (RFC 7662)", http.MethodGet, "/orders", opaque, http.StatusOK}))
	fmt.Fprint(e.out, calls())
	check(e.do(ctx, step{"the same opaque token again: answered from the cache", http.MethodGet, "/orders", opaque, http.StatusOK}))
	fmt.Fprint(e.out, calls())

	e.as.Revoke(opaque)
	check(e.do(ctx, step{fmt.Sprintf("the token is revoked at the authorization server; within the cache TTL (%v) the API still accepts it", introspectionTTL),
		http.MethodGet, "/orders", opaque, http.StatusOK}))
	select {
	case <-time.After(introspectionTTL):
	case <-ctx.Done():
		return failed + 1
	}
	check(e.do(ctx, step{"the revoked token once the cache TTL has passed", http.MethodGet, "/orders", opaque, http.StatusUnauthorized}))
	fmt.Fprint(e.out, calls())

	e.as.Fail(oauthtest.EndpointIntrospection, oauthtest.Failure{Status: http.StatusBadGateway})
	check(e.do(ctx, step{"a new opaque token while the authorization server fails (502)", http.MethodGet, "/orders",
		e.as.Opaque(oauthtest.TokenOptions{Subject: "svc-billing", Scopes: []string{"orders:read"}, Audience: []string{e.apiURL}}),
		http.StatusServiceUnavailable}))
	check(e.do(ctx, step{"a JWT while the authorization server fails: its keys are already held", http.MethodGet, "/orders",
		e.as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}}), http.StatusOK}))
	e.as.Heal(oauthtest.EndpointIntrospection)
	return failed
}

// do sends one step and prints it with its answer.
func (e *env) do(ctx context.Context, s step) bool {
	e.steps++
	fmt.Fprintf(e.out, "\n%d. %s\n   %s %s", e.steps, s.title, s.method, s.path)
	req, err := http.NewRequestWithContext(ctx, s.method, e.apiURL+s.path, nil)
	if err != nil {
		fmt.Fprintf(e.out, "\n   error: %v\n", err)
		return false
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
		fmt.Fprintf(e.out, "   Authorization: Bearer %s", abbreviate(s.token))
	}
	resp, err := e.client.Do(req)
	if err != nil {
		fmt.Fprintf(e.out, "\n   error: %v\n", err)
		return false
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	fmt.Fprintf(e.out, "\n   -> %s\n", resp.Status)
	if ch := resp.Header.Get("WWW-Authenticate"); ch != "" {
		fmt.Fprintf(e.out, "      WWW-Authenticate: %s\n", ch)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		fmt.Fprintf(e.out, "      Retry-After: %s\n", ra)
	}
	if resp.StatusCode < 300 {
		fmt.Fprintf(e.out, "      %s\n", strings.TrimSpace(string(body)))
	} else if rej := e.takeReject(); rej != nil {
		fmt.Fprintf(e.out, "      (server log: %v)\n", rej)
	}
	if resp.StatusCode != s.want {
		fmt.Fprintf(e.out, "   UNEXPECTED: want %d %s\n", s.want, http.StatusText(s.want))
		return false
	}
	return true
}

// printMetadata shows the RFC 9728 document that the resource_metadata
// attribute of the challenges points to.
func (e *env) printMetadata(ctx context.Context) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.prmURL, nil)
	resp, err := e.client.Do(req)
	if err != nil {
		fmt.Fprintf(e.out, "\nprotected resource metadata: %v\n", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8192))
	fmt.Fprintf(e.out, "\nThe protected resource metadata (RFC 9728) that challenges point clients to:\n   GET %s\n   %s\n",
		e.prmURL, strings.TrimSpace(string(body)))
}

// printServe prints how to talk to the running servers, and how to put the
// tollgate server (cmd/tollgate) in front of the API.
func (e *env) printServe() {
	token := e.as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read", "orders:write"}, Lifetime: 3600e9})
	fmt.Fprintf(e.out, "\nServing until interrupted (Ctrl-C). Authorization server issuer: %s\nTry:\n  curl -i -H 'Authorization: Bearer %s' %s/orders\n",
		e.as.Issuer(), token, e.apiURL)
	fmt.Fprintf(e.out, "\nTo put the tollgate server in front of this API (see cmd/tollgate/README.md), in another terminal:\n"+
		"  export TOLLGATE_ISSUER=%s TOLLGATE_UPSTREAM=%s TOKEN=%s\n"+
		"  go run ./cmd/tollgate proxy -config examples/tollgate.yaml\n", e.as.Issuer(), e.apiURL, token)
}

// tamper changes one character in the middle of the token's signature.
func tamper(token string) string {
	i := strings.LastIndexByte(token, '.') + 10
	c := byte('A')
	if token[i] == 'A' {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}

// abbreviate shortens a token for display.
func abbreviate(token string) string {
	if len(token) <= 24 {
		return token
	}
	return fmt.Sprintf("%s...(%d chars)", token[:16], len(token))
}

// takeReject returns and clears the last rejection the API observed.
func (e *env) takeReject() *tollgate.Error {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.lastReject
	e.lastReject = nil
	return r
}
