package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/oauthtest"
)

// runCheck runs `tollgate check` with token on stdin.
func runCheck(t *testing.T, yaml, token string, args ...string) (string, error) {
	t.Helper()
	path := writeConfig(t, yaml)
	var stdout, stderr bytes.Buffer
	err := check(context.Background(), append([]string{"-config", path, "-timeout", "5s"}, args...),
		strings.NewReader(token+"\n"), &stdout, &stderr)
	out := stdout.String() + stderr.String()
	assertNoToken(t, out, token)
	return stdout.String(), err
}

func TestCheck(t *testing.T) {
	as := newAS(t)
	yaml := proxyYAML(as.Issuer(), "http://127.0.0.1:1", "")
	now := time.Now()
	for _, tc := range []struct {
		name   string
		token  string
		args   []string
		errIs  error
		output []string // lines, or parts of lines, of the report
	}{
		{
			name:  "valid",
			token: as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}}),
			output: []string{
				"(decoded, NOT verified)", `"sub": "alice"`, `"typ": "at+jwt"`,
				"result     VALID", "subject    alice", "scopes     orders:read",
			},
		},
		{
			name:  "expired",
			token: as.JWT(oauthtest.TokenOptions{Lifetime: -3 * time.Minute, IssuedAt: now.Add(-time.Hour)}),
			errIs: errRejected,
			output: []string{
				"result     REJECTED", "kind       expired (invalid token)", "check      exp",
				"detail     expired 3m", "ago)\n", "iat        " + now.Add(-time.Hour).UTC().Format("2006-01-02T"),
			},
		},
		{
			name:   "audience",
			token:  as.JWT(oauthtest.TokenOptions{Audience: []string{"https://other.example"}}),
			errIs:  errRejected,
			output: []string{"check      aud", `"aud": "https://other.example"`},
		},
		{
			name:   "unknown key",
			token:  as.JWT(oauthtest.TokenOptions{Key: oauthtest.NewKey("ES256")}),
			errIs:  errRejected,
			output: []string{"check      kid", "no key of the issuer has this key ID"},
		},
		{
			name:   "opaque",
			token:  "an-opaque-token-0123456789",
			errIs:  errRejected,
			output: []string{"opaque (26 bytes, not a JWT)", "check      format"},
		},
		{
			name:  "request allowed",
			token: as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}}),
			args:  []string{"-method", "GET", "-path", "/orders/7"},
			output: []string{
				`rule       rules[1] "GET /orders/{id}": needs all of orders:read`,
				"answer     200 OK", "X-Auth-Subject: alice",
			},
		},
		{
			name:  "request refused for scope",
			token: as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}}),
			args:  []string{"-method", "POST", "-path", "/orders"},
			errIs: errRejected,
			output: []string{
				"result     VALID", "answer     403 Forbidden",
				`Www-Authenticate: Bearer realm="orders", error="insufficient_scope", scope="orders:write"`,
			},
		},
		{
			name:   "request without rule",
			token:  as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}}),
			args:   []string{"-path", "/nowhere"},
			errIs:  errRejected,
			output: []string{"rule       none matches: refused", "answer     403 Forbidden"},
		},
		{
			name:   "case variant judged by the deny rule",
			token:  as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}}),
			args:   []string{"-path", "/public/SECRET/x"},
			errIs:  errRejected,
			output: []string{`rule       rules[4] "/public/secret/": deny`, "answer     403 Forbidden"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCheck(t, yaml, tc.token, tc.args...)
			if !errors.Is(err, tc.errIs) {
				t.Errorf("error %v, want %v", err, tc.errIs)
			}
			for _, w := range tc.output {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestCheckAmbiguousPath: check names the rules whose disagreement refuses
// a request, and its twin with paths.trailing_slash: strict is allowed.
func TestCheckAmbiguousPath(t *testing.T) {
	as := newAS(t)
	token := as.JWT(oauthtest.TokenOptions{Scopes: []string{"reports:read", "reports:export"}})
	yaml := withRules(t, proxyYAML(as.Issuer(), "http://127.0.0.1:1", ""), variantRulesYAML)
	out, err := runCheck(t, yaml, token, "-path", "/reports/1")
	if !errors.Is(err, errRejected) || !strings.Contains(out, `rules[5] "GET /reports/{id}/": needs all of reports:export`) ||
		!strings.Contains(out, "refused: variants of the path") || !strings.Contains(out, "answer     403 Forbidden") {
		t.Errorf("error %v, output:\n%s", err, out)
	}
	out, err = runCheck(t, yaml+"paths: {trailing_slash: strict}\n", token, "-path", "/reports/1")
	if err != nil || !strings.Contains(out, "answer     200 OK") {
		t.Errorf("trailing_slash strict: error %v, output:\n%s", err, out)
	}
}

func TestCheckUnavailable(t *testing.T) {
	as := newAS(t)
	token := as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: 500})
	out, err := runCheck(t, proxyYAML(as.Issuer(), "http://127.0.0.1:1", ""), token, "-path", "/orders")
	if !errors.Is(err, errRejected) {
		t.Errorf("error %v", err)
	}
	for _, w := range []string{"kind       unavailable", "check      jwks", "answer     503 Service Unavailable", "Retry-After: 5"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestCheckUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := check(context.Background(), []string{"-config", "x.yaml", "eyJ.token.on.the.command.line"}, strings.NewReader(""), &stdout, &stderr)
	if !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), "never from the command line") {
		t.Errorf("error %v, stderr %q", err, stderr.String())
	}
	if _, err := readToken("-", strings.NewReader("  Bearer abc.def \n")); err != nil {
		t.Error(err)
	}
	if tok, _ := readToken("-", strings.NewReader("bearer abc\n")); tok != "abc" {
		t.Errorf("readToken = %q", tok)
	}
	if _, err := readToken("-", strings.NewReader("\n")); err == nil {
		t.Error("an empty token was read")
	}
}
