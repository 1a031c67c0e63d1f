package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// config is the YAML configuration file, shared by every subcommand: each one
// reads the sections it needs (see README.md for the reference). Durations
// and sizes: 0 (or absent) means the documented default, a negative value
// turns the feature off where that is allowed.
type config struct {
	// Issuers are the authorization servers whose JWT access tokens are
	// validated locally.
	Issuers []issuerConfig `yaml:"issuers"`
	// Introspection validates opaque tokens (RFC 7662), and with Issuers
	// every token that is not a JWT of one of them.
	Introspection *introspectionConfig `yaml:"introspection"`
	// Cache configures the cache of JWT validation results.
	Cache cacheConfig `yaml:"cache"`
	// Realm is the realm attribute of the WWW-Authenticate challenges.
	Realm string `yaml:"realm"`
	// Resource describes the protected resource for RFC 9728 metadata.
	Resource resourceConfig `yaml:"resource"`
	// Rules map requests to the scopes they need; a request no rule matches
	// is refused.
	Rules []ruleConfig `yaml:"rules"`
	// Paths says how the upstream routes paths, and so which variants of a
	// path the rules must consider.
	Paths pathsConfig `yaml:"paths"`
	// IdentityHeaders names the headers that carry the caller's identity to
	// the upstream.
	IdentityHeaders identityHeadersConfig `yaml:"identity_headers"`
	// OverrideHeaders are request headers that make an upstream run another
	// method or serve another path than the one the rules judged: the proxy
	// removes them, forward-auth refuses requests that carry them. Absent:
	// defaultOverrideHeaders; an empty list: none.
	OverrideHeaders []string `yaml:"override_headers"`
	// Proxy configures `tollgate proxy`.
	Proxy proxyConfig `yaml:"proxy"`
	// ForwardAuth configures `tollgate forward-auth`.
	ForwardAuth forwardAuthConfig `yaml:"forward_auth"`
	// Server holds the timeouts of the proxy or forward-auth listener.
	Server serverConfig `yaml:"server"`
	// Ops configures the operations listener: /healthz, /readyz, /metrics.
	Ops opsConfig `yaml:"ops"`
	// Log configures the structured logs written to stderr.
	Log logConfig `yaml:"log"`
}

// issuerConfig is one trusted authorization server (validator.Issuer plus
// its key set's settings).
type issuerConfig struct {
	Issuer               string     `yaml:"issuer"`
	Audiences            []string   `yaml:"audiences"`
	JWKSURL              string     `yaml:"jwks_url"`
	Discovery            string     `yaml:"discovery"`
	Algorithms           []string   `yaml:"algorithms"`
	Leeway               duration   `yaml:"leeway"`
	MaxAge               duration   `yaml:"max_age"`
	ScopeClaim           string     `yaml:"scope_claim"`
	RequiredClaims       []string   `yaml:"required_claims"`
	HMACSecret           *secret    `yaml:"hmac_secret"`
	InsecureAllowUntyped bool       `yaml:"insecure_allow_untyped"`
	InsecureAllowHTTP    bool       `yaml:"insecure_allow_http"`
	JWKS                 jwksConfig `yaml:"jwks"`
}

// jwksConfig tunes an issuer's key set (see jwks.Config).
type jwksConfig struct {
	Timeout            duration `yaml:"timeout"`
	MinRefreshInterval duration `yaml:"min_refresh_interval"`
	MaxRefreshInterval duration `yaml:"max_refresh_interval"`
	MinRefetchInterval duration `yaml:"min_refetch_interval"`
	StaleLimit         duration `yaml:"stale_limit"`
}

// cacheConfig sizes a cache of validation results (see cache.Config).
type cacheConfig struct {
	Disabled           bool     `yaml:"disabled"`
	MaxTTL             duration `yaml:"max_ttl"`
	NegativeTTL        duration `yaml:"negative_ttl"`
	MaxEntries         int      `yaml:"max_entries"`
	MaxNegativeEntries int      `yaml:"max_negative_entries"`
}

// resourceConfig is the protected resource's RFC 9728 metadata. Without an
// identifier no metadata is served and challenges carry no
// resource_metadata.
type resourceConfig struct {
	Identifier    string   `yaml:"identifier"`
	Name          string   `yaml:"name"`
	Documentation string   `yaml:"documentation"`
	Scopes        []string `yaml:"scopes_supported"`
}

// ruleConfig is one access rule: a net/http.ServeMux pattern without host
// ("GET /orders/{id}", "/admin/") and what a request matching it needs.
type ruleConfig struct {
	Match     string   `yaml:"match"`
	Scopes    []string `yaml:"scopes"`
	AnyScope  []string `yaml:"any_scope"`
	Anonymous bool     `yaml:"anonymous"`
	Deny      bool     `yaml:"deny"`
}

// pathsConfig says how the upstream routes paths. The zero value assumes
// the most lenient routing: letter case ignored and a trailing slash
// optional, so that "/ADMIN/x" and "/orders/5/" are judged by a rule at
// least as strict as the one of "/admin/x" and "/orders/5" (see ruleSet).
type pathsConfig struct {
	// CaseSensitive says that the upstream routes paths that differ only
	// by letter case to different handlers (or none).
	CaseSensitive bool `yaml:"case_sensitive"`
	// TrailingSlash is "optional" (the default: the upstream may route
	// "/a" and "/a/" alike) or "strict" (it never does).
	TrailingSlash string `yaml:"trailing_slash"`
}

func (pc *pathsConfig) validate(fe *fieldErrors, at string) {
	switch pc.TrailingSlash {
	case "":
		pc.TrailingSlash = slashOptional
	case slashOptional, slashStrict:
	default:
		fe.add(at+".trailing_slash", "%q is not one of optional, strict", pc.TrailingSlash)
	}
}

// identityHeadersConfig names the identity headers. Strip lists further
// request headers that clients must never set (with '_' and '-' alike).
type identityHeadersConfig struct {
	Subject  string   `yaml:"subject"`
	ClientID string   `yaml:"client_id"`
	Scopes   string   `yaml:"scopes"`
	Issuer   string   `yaml:"issuer"`
	Strip    []string `yaml:"strip"`
}

// proxyConfig configures the reverse proxy.
type proxyConfig struct {
	Listen       string          `yaml:"listen"`
	Upstream     string          `yaml:"upstream"`
	PassToken    bool            `yaml:"pass_token"`
	PreserveHost bool            `yaml:"preserve_host"`
	Transport    transportConfig `yaml:"transport"`
}

// transportConfig holds the timeouts and pool size of the upstream client.
type transportConfig struct {
	DialTimeout           duration `yaml:"dial_timeout"`
	TLSHandshakeTimeout   duration `yaml:"tls_handshake_timeout"`
	ResponseHeaderTimeout duration `yaml:"response_header_timeout"`
	IdleConnTimeout       duration `yaml:"idle_conn_timeout"`
	MaxIdleConnsPerHost   int      `yaml:"max_idle_conns_per_host"`
}

// forwardAuthConfig configures the forward-auth service.
type forwardAuthConfig struct {
	Listen string `yaml:"listen"`
	// Mode says which proxy calls the service, and so which headers carry
	// the original request: nginx, traefik or envoy.
	Mode string `yaml:"mode"`
	// PathPrefix is the path_prefix of Envoy's http_service, removed from
	// the check request's path (envoy mode only).
	PathPrefix string `yaml:"path_prefix"`
}

// serverConfig holds the limits of the main listener.
type serverConfig struct {
	ReadHeaderTimeout duration `yaml:"read_header_timeout"`
	ReadTimeout       duration `yaml:"read_timeout"`
	WriteTimeout      duration `yaml:"write_timeout"`
	IdleTimeout       duration `yaml:"idle_timeout"`
	ShutdownTimeout   duration `yaml:"shutdown_timeout"`
	MaxHeaderBytes    int      `yaml:"max_header_bytes"`
}

// opsConfig configures the operations listener.
type opsConfig struct {
	Listen string `yaml:"listen"`
}

// logConfig configures logging.
type logConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Defaults of the zero values.
const (
	defaultProxyListen       = ":8080"
	defaultForwardAuthListen = ":8081"
	defaultOpsListen         = ":9090"

	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 60 * time.Second
	defaultWriteTimeout      = 60 * time.Second
	defaultIdleTimeout       = 120 * time.Second
	defaultShutdownTimeout   = 30 * time.Second
	defaultMaxHeaderBytes    = 64 << 10

	defaultDialTimeout           = 10 * time.Second
	defaultTLSHandshakeTimeout   = 10 * time.Second
	defaultResponseHeaderTimeout = 60 * time.Second
	defaultIdleConnTimeout       = 90 * time.Second
	defaultMaxIdleConnsPerHost   = 64

	defaultSubjectHeader  = "X-Auth-Subject"
	defaultClientIDHeader = "X-Auth-Client-Id"
	defaultScopesHeader   = "X-Auth-Scopes"
	defaultIssuerHeader   = "X-Auth-Issuer"
)

// defaultOverrideHeaders are the headers that frameworks read as the
// request's real method (Rails' Rack::MethodOverride, Express's
// method-override, Symfony, ASP.NET's HttpMethodOverride) or real path
// (Symfony and IIS's X-Original-URL and X-Rewrite-URL, CVE-2018-14773;
// X-Forwarded-Prefix, the path base of Spring, ASP.NET Core and others).
var defaultOverrideHeaders = []string{
	"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
	"X-Original-URL", "X-Rewrite-URL", "X-Forwarded-Prefix",
}

// The forward-auth modes.
const (
	modeNginx   = "nginx"
	modeTraefik = "traefik"
	modeEnvoy   = "envoy"
)

// The parts of the configuration a subcommand needs.
const (
	needProxy = 1 << iota
	needForwardAuth
	needServer // a listener: proxy or forward-auth
)

// fieldErrors collects the problems of a configuration, each named by the
// path of its field.
type fieldErrors struct {
	errs []error
	// lookup reads the environment, for secrets given as {env: NAME}.
	lookup func(string) (string, bool)
}

func (fe *fieldErrors) add(field, format string, args ...any) {
	fe.errs = append(fe.errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

func (fe *fieldErrors) err() error { return errors.Join(fe.errs...) }

// validate checks c for the subcommand described by need, fills in the
// defaults and reads the secrets (lookup reads the environment). Every error
// names the field it is about.
func (c *config) validate(need int, lookup func(string) (string, bool)) error {
	fe := fieldErrors{lookup: lookup}
	if len(c.Issuers) == 0 && c.Introspection == nil {
		fe.add("issuers", "at least one issuer (or an introspection section) is required")
	}
	if c.Introspection != nil {
		c.Introspection.validate(&fe, "introspection")
	}
	seen := map[string]int{}
	for i := range c.Issuers {
		c.Issuers[i].validate(&fe, fmt.Sprintf("issuers[%d]", i))
		if j, dup := seen[c.Issuers[i].Issuer]; dup && c.Issuers[i].Issuer != "" {
			fe.add(fmt.Sprintf("issuers[%d].issuer", i), "same issuer as issuers[%d]", j)
		}
		seen[c.Issuers[i].Issuer] = i
	}
	if err := checkQuotable(c.Realm); err != nil {
		fe.add("realm", "%v", err)
	}
	c.Resource.validate(&fe, "resource")
	if len(c.Rules) == 0 {
		fe.add("rules", "at least one rule is required: requests no rule matches are refused")
	}
	for i := range c.Rules {
		c.Rules[i].validate(&fe, fmt.Sprintf("rules[%d]", i))
	}
	c.Paths.validate(&fe, "paths")
	c.IdentityHeaders.validate(&fe, "identity_headers")
	c.validateOverrideHeaders(&fe)
	if need&needProxy != 0 {
		c.Proxy.validate(&fe, "proxy")
	}
	if need&needForwardAuth != 0 {
		c.ForwardAuth.validate(&fe, "forward_auth")
	}
	if need&needServer != 0 {
		c.Server.validate(&fe, "server")
		if c.Ops.Listen == "" {
			c.Ops.Listen = defaultOpsListen
		}
		checkListen(&fe, "ops.listen", c.Ops.Listen)
	}
	switch strings.ToLower(c.Log.Level) {
	case "", "debug", "info", "warn", "error":
	default:
		fe.add("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "json", "text":
	default:
		fe.add("log.format", "%q is not one of json, text", c.Log.Format)
	}
	return fe.err()
}

func (is *issuerConfig) validate(fe *fieldErrors, at string) {
	if is.Issuer == "" {
		fe.add(at+".issuer", "required")
	} else if err := checkFetchURL(is.Issuer, is.InsecureAllowHTTP); err != nil {
		fe.add(at+".issuer", "%v", err)
	}
	if len(is.Audiences) == 0 {
		fe.add(at+".audiences", "at least one audience is required (the identifier of this API in the tokens' aud)")
	}
	for i, a := range is.Audiences {
		if a == "" {
			fe.add(fmt.Sprintf("%s.audiences[%d]", at, i), "empty")
		}
	}
	if is.JWKSURL != "" {
		if is.HMACSecret != nil {
			fe.add(at+".jwks_url", "an issuer has either jwks_url or hmac_secret, not both")
		}
		if err := checkFetchURL(is.JWKSURL, is.InsecureAllowHTTP); err != nil {
			fe.add(at+".jwks_url", "%v", err)
		}
	}
	switch is.Discovery {
	case "", "auto", "oidc", "oauth":
	default:
		fe.add(at+".discovery", "%q is not one of auto, oidc, oauth", is.Discovery)
	}
	if is.HMACSecret != nil {
		is.HMACSecret.validate(fe, at+".hmac_secret")
	}
	checkNotNegative(fe, at+".jwks.timeout", is.JWKS.Timeout)
	checkNotNegative(fe, at+".jwks.min_refresh_interval", is.JWKS.MinRefreshInterval)
	checkNotNegative(fe, at+".jwks.max_refresh_interval", is.JWKS.MaxRefreshInterval)
	checkNotNegative(fe, at+".jwks.min_refetch_interval", is.JWKS.MinRefetchInterval)
}

func (rc *resourceConfig) validate(fe *fieldErrors, at string) {
	if rc.Identifier == "" {
		if rc.Name != "" || rc.Documentation != "" || len(rc.Scopes) > 0 {
			fe.add(at+".identifier", "required when any other resource field is set")
		}
		return
	}
	if err := checkResourceURL(rc.Identifier); err != nil {
		fe.add(at+".identifier", "%v", err)
	}
	if rc.Documentation != "" {
		if err := checkResourceURL(rc.Documentation); err != nil {
			fe.add(at+".documentation", "%v", err)
		}
	}
	for i, s := range rc.Scopes {
		if err := checkScope(s); err != nil {
			fe.add(fmt.Sprintf("%s.scopes_supported[%d]", at, i), "%v", err)
		}
	}
}

func (r *ruleConfig) validate(fe *fieldErrors, at string) {
	if r.Match == "" {
		fe.add(at+".match", "required (a pattern such as \"GET /orders/{id}\" or \"/admin/\")")
	} else if err := checkPattern(r.Match); err != nil {
		fe.add(at+".match", "%v", err)
	}
	if r.Deny && (r.Anonymous || len(r.Scopes) > 0 || len(r.AnyScope) > 0) {
		fe.add(at+".deny", "a deny rule has no scopes and is not anonymous")
	}
	if r.Anonymous && (len(r.Scopes) > 0 || len(r.AnyScope) > 0) {
		fe.add(at+".anonymous", "an anonymous rule requires no scopes")
	}
	for i, s := range r.Scopes {
		if err := checkScope(s); err != nil {
			fe.add(fmt.Sprintf("%s.scopes[%d]", at, i), "%v", err)
		}
	}
	for i, s := range r.AnyScope {
		if err := checkScope(s); err != nil {
			fe.add(fmt.Sprintf("%s.any_scope[%d]", at, i), "%v", err)
		}
	}
}

// reservedHeaders cannot carry the identity: the proxy or HTTP itself
// gives them a meaning.
var reservedHeaders = []string{
	"authorization", "connection", "content-length", "content-type", "cookie", "host", "keep-alive",
	"proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
	"forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
}

func (ih *identityHeadersConfig) validate(fe *fieldErrors, at string) {
	fields := []struct {
		name string
		v    *string
		def  string
	}{
		{"subject", &ih.Subject, defaultSubjectHeader},
		{"client_id", &ih.ClientID, defaultClientIDHeader},
		{"scopes", &ih.Scopes, defaultScopesHeader},
		{"issuer", &ih.Issuer, defaultIssuerHeader},
	}
	seen := map[string]string{}
	check := func(field, name string) {
		if !validHeaderName(name) {
			fe.add(field, "%q is not a valid header name", name)
			return
		}
		key := headerKey(name)
		if slices.Contains(reservedHeaders, key) {
			fe.add(field, "%q is reserved by HTTP or the proxy", name)
		}
		if other, dup := seen[key]; dup {
			fe.add(field, "%q is the same header as %s ('_' and '-' count as one)", name, other)
		}
		seen[key] = field
	}
	for _, f := range fields {
		if *f.v == "" {
			*f.v = f.def
		}
		*f.v = http.CanonicalHeaderKey(*f.v)
		check(at+"."+f.name, *f.v)
	}
	for i, s := range ih.Strip {
		check(fmt.Sprintf("%s.strip[%d]", at, i), s)
	}
}

// forwardAuthHeaders describe the original request to forward-auth: they
// cannot be override headers.
var forwardAuthHeaders = []string{hdrOriginalURI, hdrOriginalMethod, hdrForwardedURI, hdrForwardedMethod}

func (c *config) validateOverrideHeaders(fe *fieldErrors) {
	if c.OverrideHeaders == nil {
		c.OverrideHeaders = slices.Clone(defaultOverrideHeaders)
		return
	}
	for i, name := range c.OverrideHeaders {
		field := fmt.Sprintf("override_headers[%d]", i)
		key := headerKey(name)
		switch {
		case !validHeaderName(name):
			fe.add(field, "%q is not a valid header name", name)
		case slices.Contains(reservedHeaders, key):
			fe.add(field, "%q is reserved by HTTP or the proxy", name)
		case slices.ContainsFunc(forwardAuthHeaders, func(h string) bool { return headerKey(h) == key }):
			fe.add(field, "%q describes the original request to forward-auth", name)
		}
	}
}

func (pc *proxyConfig) validate(fe *fieldErrors, at string) {
	if pc.Listen == "" {
		pc.Listen = defaultProxyListen
	}
	checkListen(fe, at+".listen", pc.Listen)
	if pc.Upstream == "" {
		fe.add(at+".upstream", "required: the URL requests are forwarded to")
	} else if u, err := url.Parse(pc.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fe.add(at+".upstream", "%q is not an absolute http or https URL", pc.Upstream)
	} else if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		fe.add(at+".upstream", "must not carry user information, a query or a fragment")
	}
	t := &pc.Transport
	def(&t.DialTimeout, defaultDialTimeout)
	def(&t.TLSHandshakeTimeout, defaultTLSHandshakeTimeout)
	def(&t.ResponseHeaderTimeout, defaultResponseHeaderTimeout)
	def(&t.IdleConnTimeout, defaultIdleConnTimeout)
	checkNotNegative(fe, at+".transport.dial_timeout", t.DialTimeout)
	checkNotNegative(fe, at+".transport.tls_handshake_timeout", t.TLSHandshakeTimeout)
	checkNotNegative(fe, at+".transport.response_header_timeout", t.ResponseHeaderTimeout)
	if t.MaxIdleConnsPerHost == 0 {
		t.MaxIdleConnsPerHost = defaultMaxIdleConnsPerHost
	}
}

func (fc *forwardAuthConfig) validate(fe *fieldErrors, at string) {
	if fc.Listen == "" {
		fc.Listen = defaultForwardAuthListen
	}
	checkListen(fe, at+".listen", fc.Listen)
	switch fc.Mode {
	case modeNginx, modeTraefik, modeEnvoy:
	case "":
		fe.add(at+".mode", "required: nginx, traefik or envoy (which proxy calls tollgate, and so which headers carry the original request)")
	default:
		fe.add(at+".mode", "%q is not one of nginx, traefik, envoy", fc.Mode)
	}
	if fc.PathPrefix != "" {
		if fc.Mode != modeEnvoy {
			fe.add(at+".path_prefix", "only for mode envoy")
		}
		if !strings.HasPrefix(fc.PathPrefix, "/") || strings.ContainsAny(fc.PathPrefix, "?#") {
			fe.add(at+".path_prefix", "%q must start with / and have no query", fc.PathPrefix)
		}
	}
}

func (sc *serverConfig) validate(fe *fieldErrors, at string) {
	def(&sc.ReadHeaderTimeout, defaultReadHeaderTimeout)
	def(&sc.ReadTimeout, defaultReadTimeout)
	def(&sc.WriteTimeout, defaultWriteTimeout)
	def(&sc.IdleTimeout, defaultIdleTimeout)
	def(&sc.ShutdownTimeout, defaultShutdownTimeout)
	// A slow-headers client must always be cut off, and a shutdown always
	// ends.
	checkNotNegative(fe, at+".read_header_timeout", sc.ReadHeaderTimeout)
	checkNotNegative(fe, at+".shutdown_timeout", sc.ShutdownTimeout)
	if sc.MaxHeaderBytes == 0 {
		sc.MaxHeaderBytes = defaultMaxHeaderBytes
	}
	if sc.MaxHeaderBytes < 0 {
		fe.add(at+".max_header_bytes", "must be positive")
	}
}

func def(d *duration, v time.Duration) {
	if *d == 0 {
		*d = duration(v)
	}
}

func checkNotNegative(fe *fieldErrors, field string, d duration) {
	if d < 0 {
		fe.add(field, "must not be negative (this limit cannot be turned off)")
	}
}

func checkListen(fe *fieldErrors, field, addr string) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		fe.add(field, "%q is not host:port (for example \":8080\" or \"127.0.0.1:8080\")", addr)
	}
}

// checkFetchURL applies the network rules of DESIGN.md to a URL tollgate
// fetches from: https, or http to a loopback host, or http anywhere with
// insecure_allow_http.
func checkFetchURL(s string, insecureHTTP bool) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a valid URL") // url's error would quote it, password included
	}
	if u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", shownURL(u))
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && (insecureHTTP || isLoopback(u.Hostname())):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%q must use https (http only for loopback hosts, or with insecure_allow_http)", shownURL(u))
	}
	return fmt.Errorf("%q must use https", shownURL(u))
}

// shownURL is u for an error message: without its password, and without the
// opaque part of a URL whose "https://" was forgotten ("rs:s3cr3t@host/x"
// parses as scheme "rs", opaque "s3cr3t@host/x").
func shownURL(u *url.URL) string {
	if u.Opaque != "" {
		return u.Scheme + ":xxxxx"
	}
	return u.Redacted()
}

// checkResourceURL checks a URL published in metadata and challenges: https,
// or http for loopback hosts, without fragment, user or characters that
// cannot be quoted.
func checkResourceURL(s string) error {
	if err := checkQuotable(s); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || strings.ContainsAny(s, " #") || u.User != nil || u.RawQuery != "" {
		return fmt.Errorf("%q is not an absolute URL without user, query or fragment", s)
	}
	if u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil
	}
	return fmt.Errorf("%q must use https (http only for loopback hosts)", s)
}

// isLoopback reports whether host is a loopback address or a name under
// localhost.
func isLoopback(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// checkQuotable reports whether s can appear in a quoted-string of a
// WWW-Authenticate header: printable ASCII without '"' and '\'.
func checkQuotable(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c > 0x7e {
			return errors.New(`must be printable ASCII without '"' or '\'`)
		}
	}
	return nil
}

// checkScope reports whether s is an RFC 6749 scope-token.
func checkScope(s string) error {
	if s == "" {
		return errors.New("empty scope")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return fmt.Errorf("%q is not a scope-token (RFC 6749: printable ASCII without space, '\"' or '\\')", s)
		}
	}
	return nil
}

// headerKey is the form in which two header names that a WSGI or Rack
// application would merge compare equal: lower case, '_' as '-'.
func headerKey(name string) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if c == '_' {
			b[i] = '-'
		}
	}
	return string(b)
}

// secret is a secret configuration value, taken from exactly one of: the
// file itself (value), an environment variable (env) or a file (file, whose
// one trailing newline is dropped). It never prints its value.
type secret struct {
	Value string `yaml:"value"`
	Env   string `yaml:"env"`
	File  string `yaml:"file"`

	resolved string
}

const maxSecretFile = 64 << 10

func (s *secret) validate(fe *fieldErrors, at string) {
	n := 0
	for _, v := range []string{s.Value, s.Env, s.File} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		fe.add(at, "set exactly one of value, env, file")
		return
	}
	switch {
	case s.Value != "":
		s.resolved = s.Value
	case s.Env != "":
		v, ok := fe.lookup(s.Env)
		if !ok || v == "" {
			fe.add(at+".env", "environment variable %s is not set", s.Env)
			return
		}
		s.resolved = v
	default:
		v, err := readSecretFile(s.File)
		if err != nil {
			fe.add(at+".file", "%v", err)
			return
		}
		s.resolved = v
	}
}

func readSecretFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("cannot open %q: %w", name, errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %q", name)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%q is larger than %d bytes", name, maxSecretFile)
	}
	v := string(b)
	v = strings.TrimSuffix(v, "\n")
	v = strings.TrimSuffix(v, "\r")
	if v == "" {
		return "", fmt.Errorf("%q is empty", name)
	}
	return v, nil
}

// String hides the value.
func (s secret) String() string { return "[redacted]" }

// LogValue hides the value from log/slog.
func (s secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// duration is a time.Duration written as a Go duration string ("10s",
// "5m"); 0 means the default, negative values turn a feature off where
// allowed.
type duration time.Duration

// UnmarshalYAML parses a duration string.
func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	s := n.Value
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("a duration is a string such as 30s (line %d)", n.Line)
	}
	if s == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (for example 30s, 5m, 1h) (line %d)", s, n.Line)
	}
	*d = duration(v)
	return nil
}

// D returns d as a time.Duration.
func (d duration) D() time.Duration { return time.Duration(d) }

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s can be sent as a header value as is:
// no control characters other than horizontal tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
