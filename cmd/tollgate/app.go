package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/validator"
)

// app is what every subcommand builds from the configuration: the key sets,
// the validator, the rules and the identity headers.
type app struct {
	cfg    *config
	logger *slog.Logger
	obs    tollgate.Observer

	sets  []*jwks.Set
	jwt   *validator.Validator // nil without issuers
	intro *introspect.Client   // nil without introspection
	// v is the validator the transports use.
	v tollgate.Validator

	rules     *ruleSet
	identity  *identity
	overrides headerSet                   // override_headers
	metadata  *middleware.MetadataHandler // nil without resource.identifier
	mdPaths   []string                    // metadata.Paths()
}

// isMetadataPath reports whether the normalized path p is where the RFC 9728
// document is served.
func (a *app) isMetadataPath(p string) bool {
	return slices.Contains(a.mdPaths, p)
}

// newApp builds the app; close releases what it started even when newApp
// fails half-way.
func newApp(cfg *config, logger *slog.Logger, obs tollgate.Observer) (a *app, err error) {
	a = &app{cfg: cfg, logger: logger, obs: obs}
	defer func() {
		if err != nil {
			a.close()
			a = nil
		}
	}()
	issuers := make([]validator.Issuer, len(cfg.Issuers))
	for i, ic := range cfg.Issuers {
		is := validator.Issuer{
			Issuer:               ic.Issuer,
			Audiences:            ic.Audiences,
			Algorithms:           ic.Algorithms,
			Leeway:               ic.Leeway.D(),
			MaxAge:               ic.MaxAge.D(),
			ScopeClaim:           ic.ScopeClaim,
			RequiredClaims:       ic.RequiredClaims,
			InsecureAllowUntyped: ic.InsecureAllowUntyped,
		}
		if ic.HMACSecret != nil {
			is.HMACSecret = []byte(ic.HMACSecret.resolved)
		} else {
			// The key set is ours rather than the validator's, so that its
			// refresh and retry intervals can be configured.
			set, err := jwks.New(newJWKSConfig(ic, logger, obs))
			if err != nil {
				return nil, fmt.Errorf("issuers[%d]: %w", i, err)
			}
			a.sets = append(a.sets, set)
			is.Keys = set
		}
		issuers[i] = is
	}
	if cfg.Introspection != nil {
		if a.intro, err = newIntrospection(cfg.Introspection, logger, obs); err != nil {
			return nil, err
		}
	}
	if len(issuers) > 0 {
		if err := a.newJWT(issuers); err != nil {
			return nil, err
		}
	}
	switch {
	case a.jwt != nil && a.intro != nil:
		// JWTs of the validator's issuers are validated here, everything
		// else is introspected.
		h, err := tollgate.NewHybrid(tollgate.HybridConfig{JWT: a.jwt, Introspection: a.intro})
		if err != nil {
			return nil, err
		}
		a.v = h
	case a.jwt != nil:
		a.v = a.jwt
	default:
		a.v = a.intro
	}
	if a.rules, err = newRuleSet(cfg.Rules, cfg.Paths); err != nil {
		return nil, err
	}
	if cfg.Paths.CaseSensitive || cfg.Paths.TrailingSlash == slashStrict {
		logger.Info("tollgate: rules consider only the path as sent for letter case or trailing slash: the upstream must route variants elsewhere",
			"case_sensitive", cfg.Paths.CaseSensitive, "trailing_slash", cfg.Paths.TrailingSlash)
	}
	for _, w := range a.rules.warnings() {
		logger.Warn("tollgate: rules: " + w)
	}
	a.identity = newIdentity(&cfg.IdentityHeaders)
	a.overrides = newHeaderSet(cfg.OverrideHeaders)
	if cfg.Resource.Identifier != "" {
		md := middleware.ResourceMetadata{
			Resource:              cfg.Resource.Identifier,
			ResourceName:          cfg.Resource.Name,
			ResourceDocumentation: cfg.Resource.Documentation,
			ScopesSupported:       cfg.Resource.Scopes,
		}
		for _, ic := range cfg.Issuers {
			md.AuthorizationServers = append(md.AuthorizationServers, ic.Issuer)
		}
		if ic := cfg.Introspection; ic != nil && ic.Issuer != "" && !slices.Contains(md.AuthorizationServers, ic.Issuer) {
			md.AuthorizationServers = append(md.AuthorizationServers, ic.Issuer)
		}
		if md.ScopesSupported == nil {
			md.ScopesSupported = ruleScopes(cfg.Rules)
		}
		if a.metadata, err = middleware.NewMetadataHandler(md); err != nil {
			return nil, fmt.Errorf("resource: %w", err)
		}
		a.mdPaths = a.metadata.Paths()
	}
	return a, nil
}

// newJWT builds the JWT validator of the issuers, with the cache in front.
func (a *app) newJWT(issuers []validator.Issuer) error {
	vc := validator.Config{
		Issuers:      issuers,
		Logger:       a.logger,
		Observer:     a.obs,
		DisableCache: a.cfg.Cache.Disabled,
		Cache: cache.Config{
			MaxTTL:             a.cfg.Cache.MaxTTL.D(),
			NegativeTTL:        a.cfg.Cache.NegativeTTL.D(),
			MaxEntries:         a.cfg.Cache.MaxEntries,
			MaxNegativeEntries: a.cfg.Cache.MaxNegativeEntries,
		},
	}
	v, err := validator.New(vc)
	if err != nil {
		return err
	}
	a.jwt = v
	return nil
}

func newJWKSConfig(ic issuerConfig, logger *slog.Logger, obs tollgate.Observer) jwks.Config {
	jc := jwks.Config{
		URL:                ic.JWKSURL,
		InsecureAllowHTTP:  ic.InsecureAllowHTTP,
		Timeout:            ic.JWKS.Timeout.D(),
		MinRefreshInterval: ic.JWKS.MinRefreshInterval.D(),
		MaxRefreshInterval: ic.JWKS.MaxRefreshInterval.D(),
		MinRefetchInterval: ic.JWKS.MinRefetchInterval.D(),
		StaleLimit:         ic.JWKS.StaleLimit.D(),
		Observer:           obs,
		Logger:             logger,
	}
	if jc.URL == "" {
		jc.Issuer = ic.Issuer
		switch ic.Discovery {
		case "oidc":
			jc.Discovery = jwks.DiscoveryOIDC
		case "oauth":
			jc.Discovery = jwks.DiscoveryOAuth
		}
	}
	return jc
}

// ruleScopes lists the scopes the rules name, for scopes_supported.
func ruleScopes(rules []ruleConfig) []string {
	var s []string
	for _, r := range rules {
		s = append(s, r.Scopes...)
		s = append(s, r.AnyScope...)
	}
	return tollgate.NewScopes(s...).Strings()
}

// start loads every issuer's keys, waiting at most timeout. A failure is
// logged, not fatal: the sets keep retrying and /readyz says when they are
// there.
func (a *app) start(ctx context.Context, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range a.sets {
		wg.Go(func() {
			if err := s.Start(ctx); err != nil {
				a.logger.Warn("tollgate: keys not loaded yet; retrying in the background", "error", err.Error())
			}
		})
	}
	wg.Wait()
}

// keysReady reports whether every issuer's keys are loaded (true without
// issuers: introspection has nothing to load).
func (a *app) keysReady() bool {
	return a.jwt == nil || a.jwt.Ready()
}

func (a *app) close() {
	if a.jwt != nil {
		a.jwt.Close()
	}
	if a.intro != nil {
		a.intro.Close()
	}
	for _, s := range a.sets {
		s.Close()
	}
}

// ruleFor returns the rule that lets a request for method and the normalized
// path np go on to its token check, or nil after counting and logging why it
// is refused (403 for the caller to write): no rule, a deny rule, or path
// variants that disagree (see ruleSet.match).
func (a *app) ruleFor(ctx context.Context, m *metrics, method, np string, attrs ...slog.Attr) *rule {
	rl, conflict := a.rules.match(method, np)
	switch {
	case conflict != nil:
		m.count(outcomeAmbiguousPath)
		idx := make([]int, len(conflict))
		for i, c := range conflict {
			idx[i] = c.index
		}
		a.logger.LogAttrs(ctx, slog.LevelInfo, "tollgate: request refused: variants of its path (letter case, trailing slash) select rules that disagree",
			append([]slog.Attr{slog.String("method", method), slog.String("path", np), slog.Any("rules", idx)}, attrs...)...)
		return nil
	case rl == nil || rl.deny:
		m.count(outcomeDeniedPath)
		a.logger.LogAttrs(ctx, slog.LevelInfo, "tollgate: no rule allows the request",
			append([]slog.Attr{slog.String("method", method), slog.String("path", np)}, attrs...)...)
		return nil
	}
	return rl
}

// handlers builds each rule's handler: the middleware (with the rule's
// scope check) in front of final. Deny rules get none.
func (a *app) handlers(final http.Handler) error {
	mdURL := ""
	if a.metadata != nil {
		mdURL = a.metadata.URL()
	}
	for _, r := range a.rules.rules {
		if r.deny {
			continue
		}
		mw, err := middleware.New(a.v, middleware.Config{
			Realm:               a.cfg.Realm,
			ResourceMetadataURL: mdURL,
			Optional:            r.anonymous,
			Check:               a.check(r),
			Observer:            a.obs,
		})
		if err != nil {
			return fmt.Errorf("rules[%d]: %w", r.index, err)
		}
		r.handler = mw.Handler(final)
	}
	return nil
}

// check returns the per-request check of rule r: its scopes, and identity
// values that can travel in a header.
func (a *app) check(r *rule) func(*http.Request, *tollgate.Principal) error {
	return func(_ *http.Request, p *tollgate.Principal) error {
		s := p.Scopes()
		if len(r.scopes) > 0 && !s.HasAll(r.scopes...) {
			return &tollgate.Error{Kind: tollgate.ErrInsufficientScope, Check: "scope", Scopes: r.scopes}
		}
		if len(r.anyScope) > 0 && !s.HasAny(r.anyScope...) {
			return &tollgate.Error{Kind: tollgate.ErrInsufficientScope, Check: "scope", Scopes: r.anyScope}
		}
		return a.identity.check(p)
	}
}

// headerSet is a set of header names in their headerKey form, matched in
// any case and with '_' for '-': WSGI, Rack, PHP and others merge
// X_Auth_Subject into the same variable as X-Auth-Subject.
type headerSet []string

func newHeaderSet(names []string) headerSet {
	s := make(headerSet, len(names))
	for i, n := range names {
		s[i] = headerKey(n)
	}
	return s
}

// stripFrom removes from h every header of the set, however spelt.
func (s headerSet) stripFrom(h http.Header) {
	for name := range h {
		if s.has(name) {
			delete(h, name)
		}
	}
}

// in returns the name of a header of h that is in the set, however spelt;
// with underscoresOnly, only spellings with '_'.
func (s headerSet) in(h http.Header, underscoresOnly bool) (string, bool) {
	for name := range h {
		if underscoresOnly && strings.IndexByte(name, '_') < 0 {
			continue
		}
		if s.has(name) {
			return name, true
		}
	}
	return "", false
}

func (s headerSet) has(name string) bool {
	for _, k := range s {
		if sameHeader(name, k) {
			return true
		}
	}
	return false
}

// identity sets the identity headers on what goes upstream and strips any
// copy a client sent.
type identity struct {
	subject, clientID, scopes, issuer string
	// strip holds every header a client may not send.
	strip headerSet
}

func newIdentity(c *identityHeadersConfig) *identity {
	return &identity{
		subject: c.Subject, clientID: c.ClientID, scopes: c.Scopes, issuer: c.Issuer,
		strip: newHeaderSet(append([]string{c.Subject, c.ClientID, c.Scopes, c.Issuer}, c.Strip...)),
	}
}

// stripFrom removes from h every identity header, however spelt.
func (id *identity) stripFrom(h http.Header) { id.strip.stripFrom(h) }

// forged reports whether h carries an identity header spelt with '_' for
// '-' (X_Auth_Subject). A front proxy overwrites the configured spelling
// with what forward-auth answers, but passes such a variant on, and WSGI,
// Rack or PHP would read it as the identity header.
func (id *identity) forged(h http.Header) (string, bool) { return id.strip.in(h, true) }

// sameHeader reports whether name equals key (a headerKey form) ignoring
// case and counting '_' as '-', without allocating.
func sameHeader(name, key string) bool {
	if len(name) != len(key) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != key[i] {
			return false
		}
	}
	return true
}

// set writes p's identity into h. With all, empty values are written too,
// so that a proxy that copies these headers overwrites a client's copy.
func (id *identity) set(h http.Header, p *tollgate.Principal, all bool) {
	put := func(name, v string) {
		if v != "" || all {
			h[name] = []string{v}
		}
	}
	var sub, cid, scopes, iss string
	if p != nil {
		sub, cid, scopes, iss = p.Subject(), p.ClientID(), p.Scopes().String(), p.Issuer()
	}
	put(id.subject, sub)
	put(id.clientID, cid)
	put(id.scopes, scopes)
	put(id.issuer, iss)
}

// check refuses a principal whose identity cannot be sent as header values
// (a control character in the subject, say): the upstream must receive
// exactly what the token says, or nothing.
func (id *identity) check(p *tollgate.Principal) error {
	bad := func(check string) error {
		return &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: check, Detail: "claim cannot be sent in a header (control characters)"}
	}
	switch {
	case !validHeaderValue(p.Subject()):
		return bad("sub")
	case !validHeaderValue(p.ClientID()):
		return bad("client_id")
	case !validHeaderValue(p.Issuer()):
		return bad("iss")
	}
	for s := range p.Scopes().All() {
		if !validHeaderValue(s) {
			return bad("scope")
		}
	}
	return nil
}

// newLogger returns the JSON (or text) logger of the configuration.
func newLogger(c logConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
