package introspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/internal/metadata"
	"github.com/tollgate/tollgate/internal/netpolicy"
)

// Client validates opaque access tokens by asking the authorization server
// (RFC 7662 token introspection). It implements [tollgate.Validator]: an
// active token becomes a [tollgate.Principal] of kind [tollgate.KindOpaque]
// whose Claims are the introspection answer.
//
// Answers are cached through package cache (see [Config.Cache]), and
// concurrent requests for the same token share one call. A Client is safe
// for concurrent use; Close it when done.
type Client struct {
	s          settings
	httpClient *http.Client
	ownClient  bool
	endpoint   string     // configured; empty when discovered
	disc       *discovery // nil when Endpoint is configured
	auth       *clientAuth
	sem        chan struct{} // nil: no limit
	ck         checks

	cache *cache.Cache       // nil when caching is off
	next  tollgate.Validator // the cache, or introspect itself
}

// New returns a Client configured by cfg, after checking it. It makes no
// network call: discovery, when needed, happens on first use.
func New(cfg Config) (*Client, error) {
	s, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{
		s:        s,
		endpoint: s.Endpoint,
		auth:     newClientAuth(&s),
		ck:       checks{issuer: s.Issuer, audiences: append([]string(nil), s.Audiences...), leeway: s.leeway},
	}
	base := s.HTTPClient
	if base == nil {
		base, c.ownClient = netpolicy.NewClient(), true
	}
	// Introspection follows no redirect: it would resend the token and our
	// credentials to wherever the redirect points.
	c.httpClient = netpolicy.Client(base, netpolicy.NoRedirects())
	if c.endpoint == "" {
		c.disc = &discovery{
			urls: s.metadataURLs,
			fetcher: metadata.Fetcher{
				Client:    netpolicy.Client(base, netpolicy.FollowSecure(s.InsecureAllowHTTP)),
				Issuer:    s.issuer,
				MaxBytes:  maxMetadataBytes,
				AllowHTTP: s.InsecureAllowHTTP,
			},
			timeout:  s.Timeout,
			now:      s.Now,
			observer: s.Observer,
		}
	}
	if s.MaxConcurrent > 0 {
		c.sem = make(chan struct{}, s.MaxConcurrent)
	}
	c.next = tollgate.ValidatorFunc(c.introspect)
	if !s.DisableCache {
		cc, err := cache.New(c.next, s.Cache)
		if err != nil {
			return nil, fmt.Errorf("introspect: %w", err)
		}
		c.cache, c.next = cc, cc
	}
	c.warnInsecure()
	return c, nil
}

// warnInsecure logs, once, every Insecure... option of the configuration.
func (c *Client) warnInsecure() {
	source := slog.String("endpoint", c.endpoint)
	if c.endpoint == "" {
		source = slog.String("issuer", c.s.Issuer)
	}
	if c.s.InsecureAllowHTTP {
		c.s.Logger.LogAttrs(context.Background(), slog.LevelWarn,
			"tollgate: introspect: InsecureAllowHTTP is set: tokens and client credentials may cross the network in plain http", source)
	}
	if c.s.InsecureAnyAudience {
		c.s.Logger.LogAttrs(context.Background(), slog.LevelWarn,
			"tollgate: introspect: InsecureAnyAudience is set: active tokens are accepted whatever their audience", source)
	}
}

// Validate introspects token, or serves the answer from the cache. It
// returns the token's principal, or an error that matches
// [tollgate.ErrInvalidToken] (inactive, revoked, wrong audience,
// sender-constrained...), [tollgate.ErrExpired], or [tollgate.ErrUnavailable]
// (the authorization server could not be asked, failed, answered garbage or
// refused our credentials).
func (c *Client) Validate(ctx context.Context, token string) (*tollgate.Principal, error) {
	return c.next.Validate(ctx, token)
}

// Close releases the client's resources: the cache's sweeper and, when the
// client made its own HTTP client, its idle connections. Validate must not be
// called after Close.
func (c *Client) Close() error {
	var err error
	if c.cache != nil {
		err = c.cache.Close()
	}
	if c.ownClient {
		c.httpClient.CloseIdleConnections()
	}
	return err
}

// String describes the client without its secrets.
func (c *Client) String() string {
	ep := c.endpoint
	if ep == "" && c.disc != nil {
		if p := c.disc.endpoint.Load(); p != nil {
			ep = *p
		}
	}
	// New and discovery refuse user information; Redacted is there in case
	// a later path does not.
	return fmt.Sprintf("introspect.Client{Endpoint: %q, ClientID: %q, AuthMethod: %q}", netpolicy.Redacted(ep), c.s.ClientID, c.s.AuthMethod)
}

// Format writes [Client.String] whatever the verb: the client holds secrets
// in unexported fields, which fmt would otherwise print.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// Endpoint returns the introspection endpoint: the configured one, or the
// discovered one (discovering it if need be).
func (c *Client) Endpoint(ctx context.Context) (string, error) {
	if c.endpoint != "" {
		return c.endpoint, nil
	}
	return c.disc.get(ctx)
}

func unavailable(check, detail string, cause error) error {
	return &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: check, Detail: detail, Err: cause}
}

// introspect asks the authorization server about token, without cache.
func (c *Client) introspect(ctx context.Context, token string) (*tollgate.Principal, error) {
	switch {
	case token == "":
		return nil, invalid("format", "empty token")
	case len(token) > c.s.MaxTokenBytes:
		return nil, invalid("size", "token longer than "+strconv.Itoa(c.s.MaxTokenBytes)+" bytes")
	}
	ep, err := c.Endpoint(ctx)
	if err != nil {
		return nil, err
	}
	if c.sem != nil {
		// The wait for a slot is bounded by Timeout too, whatever the
		// caller's context says: with the cache off and no deadline on the
		// request it would otherwise have no bound at all.
		wait := time.NewTimer(c.s.Timeout)
		var cause error
		select {
		case c.sem <- struct{}{}:
			wait.Stop()
			defer func() { <-c.sem }()
		case <-ctx.Done():
			cause = ctx.Err()
		case <-wait.C:
			cause = context.DeadlineExceeded
		}
		if cause != nil {
			wait.Stop()
			err := unavailable("introspection", "too many introspection calls in flight", cause)
			if c.s.Observer.OnIntrospectFailure != nil {
				c.s.Observer.OnIntrospectFailure(ctx, tollgate.IntrospectEvent{Endpoint: ep, Err: err})
			}
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.Timeout)
	defer cancel()

	start := c.s.Now()
	ev := tollgate.IntrospectEvent{Endpoint: ep}
	p, err := c.call(ctx, ep, token, &ev)
	ev.Duration = c.s.Now().Sub(start)
	if err != nil && errors.Is(err, tollgate.ErrUnavailable) {
		ev.Err = err
		if c.s.Observer.OnIntrospectFailure != nil {
			c.s.Observer.OnIntrospectFailure(ctx, ev)
		}
		return nil, err
	}
	if c.s.Observer.OnIntrospect != nil {
		c.s.Observer.OnIntrospect(ctx, ev)
	}
	return p, err
}

// call sends one introspection request and reads its answer, filling in the
// event's Status, Active and CredentialsRejected.
func (c *Client) call(ctx context.Context, ep, token string, ev *tollgate.IntrospectEvent) (*tollgate.Principal, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	h := make(http.Header, 3)
	aud := c.s.AssertionAudience
	if aud == "" {
		aud = c.s.Issuer
	}
	if aud == "" {
		aud = ep
	}
	if err := c.auth.apply(h, form, aud, c.s.Now()); err != nil {
		return nil, unavailable("client_assertion", "could not sign the client assertion", nil)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, unavailable("introspection", "could not build the request", nil)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := c.httpClient.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, netpolicy.ErrRedirect):
			return nil, unavailable("introspection", "the authorization server redirected; redirects are not followed", nil)
		case ctx.Err() != nil:
			return nil, unavailable("introspection", "no answer from the authorization server in time", ctx.Err())
		}
		return nil, unavailable("introspection", "authorization server unreachable", err)
	}
	defer resp.Body.Close()
	ev.Status = resp.StatusCode
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		// Our own credentials were refused: a configuration error that
		// breaks every opaque token, reported loudly - never the caller's
		// fault, so never a 401 for them.
		drain(resp)
		ev.CredentialsRejected = true
		return nil, unavailable("introspection", "the authorization server rejected our client credentials (status "+strconv.Itoa(resp.StatusCode)+")", nil)
	default:
		drain(resp)
		return nil, unavailable("introspection", "the authorization server answered status "+strconv.Itoa(resp.StatusCode), nil)
	}
	body, err := netpolicy.ReadBody(resp, c.s.MaxResponseBytes)
	if err != nil {
		if errors.Is(err, netpolicy.ErrBodyTooLarge) {
			return nil, unavailable("introspection", "introspection answer too large", nil)
		}
		return nil, unavailable("introspection", "could not read the introspection answer", err)
	}
	p, err := parseResponse(body, c.s.Now(), &c.ck)
	if errors.Is(err, errGarbage) {
		return nil, unavailable("introspection", "the introspection answer is not a JSON object", nil)
	}
	var te *tollgate.Error
	ev.Active = err == nil || (errors.As(err, &te) && te.Check != "active" && te.Check != "claims")
	return p, err
}

// drain reads a little of a body we do not use, so that the connection can
// be reused, without reading an unbounded amount.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
}
