package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// minimalYAML is the smallest valid proxy configuration.
const minimalYAML = `
issuers:
  - issuer: https://auth.example.com/
    audiences: [https://api.example.com]
rules:
  - match: GET /orders
    scopes: [orders:read]
proxy:
  upstream: http://127.0.0.1:9000
`

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func loadString(t *testing.T, yaml string, need int, vars map[string]string) (*config, error) {
	t.Helper()
	return loadConfig(writeConfig(t, yaml), need, env(vars))
}

func TestConfigDefaults(t *testing.T) {
	c, err := loadString(t, minimalYAML, needServer|needProxy, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"proxy.listen", c.Proxy.Listen, defaultProxyListen},
		{"ops.listen", c.Ops.Listen, defaultOpsListen},
		{"server.read_header_timeout", c.Server.ReadHeaderTimeout.D(), defaultReadHeaderTimeout},
		{"server.shutdown_timeout", c.Server.ShutdownTimeout.D(), defaultShutdownTimeout},
		{"server.max_header_bytes", c.Server.MaxHeaderBytes, defaultMaxHeaderBytes},
		{"proxy.transport.response_header_timeout", c.Proxy.Transport.ResponseHeaderTimeout.D(), defaultResponseHeaderTimeout},
		{"identity_headers.subject", c.IdentityHeaders.Subject, defaultSubjectHeader},
		{"identity_headers.client_id", c.IdentityHeaders.ClientID, defaultClientIDHeader},
		{"paths.case_sensitive", c.Paths.CaseSensitive, false},
		{"paths.trailing_slash", c.Paths.TrailingSlash, slashOptional},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// TestConfigErrors checks that every mistake is reported with the field it
// is about; each case's twin is minimalYAML, which loads.
func TestConfigErrors(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(minimalYAML, old) {
			t.Fatalf("minimalYAML lacks %q", old)
		}
		return strings.Replace(minimalYAML, old, new, 1)
	}
	for _, tc := range []struct {
		name string
		yaml string
		need int
		want []string // substrings of the error
	}{
		{"unknown top-level field", minimalYAML + "upstream: x\n", needProxy, []string{"upstream: unknown field (line 10)"}},
		{"unknown nested field", replace("    audiences:", "    audience: x\n    audiences:"),
			needProxy, []string{"issuers[0].audience: unknown field (line 4)"}},
		{"misspelt field with a hint", replace("    scopes:", "    Scopes:"),
			needProxy, []string{`rules[0].Scopes: unknown field (line 7): did you mean "scopes"?`}},
		{"no issuers", replace("issuers:\n  - issuer: https://auth.example.com/\n    audiences: [https://api.example.com]\n", ""),
			needProxy, []string{"issuers: at least one issuer (or an introspection section) is required"}},
		{"no audience", replace("    audiences: [https://api.example.com]\n", ""),
			needProxy, []string{"issuers[0].audiences: at least one audience is required"}},
		{"http issuer", replace("https://auth.example.com/", "http://auth.example.com/"),
			needProxy, []string{"issuers[0].issuer:", "must use https"}},
		{"no rules", replace("rules:\n  - match: GET /orders\n    scopes: [orders:read]\n", ""),
			needProxy, []string{"rules: at least one rule is required"}},
		{"bad scope", replace("[orders:read]", `["orders read"]`), needProxy, []string{"rules[0].scopes[0]:"}},
		{"host pattern", replace("GET /orders", "GET example.com/orders"), needProxy, []string{"rules[0].match:", "host patterns"}},
		{"anonymous with scopes", replace("    scopes:", "    anonymous: true\n    scopes:"), needProxy, []string{"rules[0].anonymous:"}},
		{"no upstream", replace("proxy:\n  upstream: http://127.0.0.1:9000\n", ""), needProxy, []string{"proxy.upstream: required"}},
		{"bad upstream", replace("http://127.0.0.1:9000", "ftp://x"), needProxy, []string{"proxy.upstream:"}},
		{"forward-auth without mode", minimalYAML, needForwardAuth, []string{"forward_auth.mode: required"}},
		{"bad listen", minimalYAML + "ops:\n  listen: 9090\n", needServer, []string{`ops.listen: "9090" is not host:port`}},
		{"reserved identity header", minimalYAML + "identity_headers:\n  subject: Authorization\n", needProxy,
			[]string{"identity_headers.subject:", "reserved"}},
		{"identity headers that WSGI merges", minimalYAML + "identity_headers:\n  subject: X-User\n  client_id: X_User\n", needProxy,
			[]string{"identity_headers.client_id:", "same header as identity_headers.subject"}},
		{"bad duration", minimalYAML + "server:\n  read_timeout: soon\n", needServer, []string{`server.read_timeout: "soon" is not a duration`, "line 11"}},
		{"not an integer", minimalYAML + "server:\n  max_header_bytes: lots\n", needServer,
			[]string{`server.max_header_bytes: "lots" is not an integer (line 11)`}},
		{"not a boolean", minimalYAML + "cache:\n  disabled: maybe\n", needServer,
			[]string{`cache.disabled: "maybe" is not true or false (line 11)`}},
		{"scalar for a list", replace("[orders:read]", "orders:read"), needProxy,
			[]string{`rules[0].scopes: expected a list, not "orders:read" (line 7)`}},
		{"negative read header timeout", minimalYAML + "server:\n  read_header_timeout: -1s\n", needServer,
			[]string{"server.read_header_timeout: must not be negative"}},
		{"bad log level", minimalYAML + "log:\n  level: loud\n", needProxy, []string{"log.level:"}},
		{"bad override header", minimalYAML + "override_headers: [X-HTTP-Method-Override, \"X Bad\", Host, X-Original-URI]\n", needProxy,
			[]string{`override_headers[1]: "X Bad" is not a valid header name`, `override_headers[2]: "Host" is reserved`,
				`override_headers[3]: "X-Original-URI" describes the original request to forward-auth`}},
		{"bad trailing_slash", minimalYAML + "paths:\n  trailing_slash: sometimes\n", needProxy,
			[]string{`paths.trailing_slash: "sometimes" is not one of optional, strict`}},
		{"resource over http", minimalYAML + "resource:\n  identifier: http://api.example.com\n", needProxy,
			[]string{"resource.identifier:", "https"}},
		{"unset variable", replace("http://127.0.0.1:9000", "${UPSTREAM}"), needProxy,
			[]string{"proxy.upstream: environment variable UPSTREAM is not set", "line 9"}},
		{"two documents", minimalYAML + "---\nrealm: x\n", needProxy, []string{"more than one YAML document"}},
		{"empty file", "", needProxy, []string{"empty"}},
		{"secret with two sources", replace("    audiences:", "    hmac_secret: {value: a, env: B}\n    audiences:"),
			needProxy, []string{"issuers[0].hmac_secret: set exactly one of value, env, file"}},
		{"secret from an unset variable", replace("    audiences:", "    hmac_secret: {env: NOPE}\n    audiences:"),
			needProxy, []string{"issuers[0].hmac_secret.env: environment variable NOPE is not set"}},
		{"secret from a missing file", replace("    audiences:", "    hmac_secret: {file: /nonexistent/secret}\n    audiences:"),
			needProxy, []string{"issuers[0].hmac_secret.file:", "/nonexistent/secret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString(t, tc.yaml, tc.need, nil)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	for _, need := range []int{needProxy, needServer | needProxy} {
		if _, err := loadString(t, minimalYAML, need, nil); err != nil {
			t.Errorf("twin: %v", err)
		}
	}
}

// TestConfigOverrideHeaders: absent, the default list; a list replaces it;
// an empty list turns the protection off.
func TestConfigOverrideHeaders(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"absent", "", defaultOverrideHeaders},
		{"replaced", "override_headers: [X-HTTP-Method-Override]\n", []string{"X-HTTP-Method-Override"}},
		{"empty", "override_headers: []\n", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadString(t, minimalYAML+tc.yaml, needProxy, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.OverrideHeaders, tc.want) || (c.OverrideHeaders == nil) != (tc.want == nil) {
				t.Errorf("override_headers = %q, want %q", c.OverrideHeaders, tc.want)
			}
		})
	}
}

func TestConfigEnv(t *testing.T) {
	yaml := `
issuers:
  - issuer: ${ISSUER}
    audiences: ["${AUD:-${UPSTREAM}}", "literal $${NOT_EXPANDED}", "$5 and $HOME stay"]
rules:
  - match: GET /orders
proxy:
  upstream: ${UPSTREAM}
  listen: ${LISTEN:-127.0.0.1:7000}
realm: &r ${REALM}
resource:
  identifier: https://api.example
  name: *r
`
	c, err := loadString(t, yaml, needProxy, map[string]string{
		"ISSUER": "https://as.example/", "UPSTREAM": "http://127.0.0.1:9000", "REALM": "api", "LISTEN": "",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, got, want string }{
		{"issuer", c.Issuers[0].Issuer, "https://as.example/"},
		{"nested default", c.Issuers[0].Audiences[0], "http://127.0.0.1:9000"},
		{"$${", c.Issuers[0].Audiences[1], "literal ${NOT_EXPANDED}"},
		{"bare $", c.Issuers[0].Audiences[2], "$5 and $HOME stay"},
		{"empty variable takes the default", c.Proxy.Listen, "127.0.0.1:7000"},
		{"alias expanded once", c.Resource.Name, "api"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	for _, bad := range []string{"${", "${A", "${1A}", "${A-B}"} {
		if _, err := expandEnv(bad, env(nil)); err == nil {
			t.Errorf("expandEnv(%q) succeeded", bad)
		}
	}
}

func TestConfigSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("from-a-file-0123456789-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOLLGATE_TEST_SECRET", "from-the-env-0123456789-0123456789")
	for _, tc := range []struct{ name, src, want string }{
		{"value", "{value: in-the-file-0123456789-0123456789}", "in-the-file-0123456789-0123456789"},
		{"env", "{env: TOLLGATE_TEST_SECRET}", "from-the-env-0123456789-0123456789"},
		{"file, trailing newline dropped", "{file: " + file + "}", "from-a-file-0123456789-0123456789"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := strings.Replace(minimalYAML, "    audiences:", "    hmac_secret: "+tc.src+"\n    audiences:", 1)
			c, err := loadConfig(writeConfig(t, yaml), needProxy, os.LookupEnv)
			if err != nil {
				t.Fatal(err)
			}
			s := c.Issuers[0].HMACSecret
			if s.resolved != tc.want {
				t.Errorf("secret = %q, want %q", s.resolved, tc.want)
			}
			if s.String() != "[redacted]" {
				t.Errorf("String() = %q", s.String())
			}
		})
	}
}

func TestExampleConfig(t *testing.T) {
	// The repository's example loads with the quickstart's variables.
	vars := map[string]string{"TOLLGATE_ISSUER": "http://127.0.0.1:4000", "TOLLGATE_UPSTREAM": "http://127.0.0.1:5000"}
	c, err := loadConfig("../../examples/tollgate.yaml", needServer|needProxy, env(vars))
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuers[0].Audiences[0] != "http://127.0.0.1:5000" || c.Proxy.Upstream != "http://127.0.0.1:5000" {
		t.Errorf("audience %q, upstream %q", c.Issuers[0].Audiences[0], c.Proxy.Upstream)
	}
	if _, err := loadConfig("../../examples/tollgate.yaml", needServer|needForwardAuth, env(vars)); err != nil {
		t.Errorf("forward-auth: %v", err)
	}
	// Without them, the error says which variable is missing.
	_, err = loadConfig("../../examples/tollgate.yaml", needProxy, env(nil))
	if err == nil || !strings.Contains(err.Error(), "TOLLGATE_ISSUER is not set") {
		t.Errorf("error %v, want one naming TOLLGATE_ISSUER", err)
	}
}
