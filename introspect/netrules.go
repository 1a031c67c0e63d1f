package introspect

// TEMPORARY: the same shape as internal/netpolicy (branch jwks), which
// replaces this file once it is on main, so that the repository keeps one
// implementation of the network rules.

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

var (
	errInsecureURL  = errors.New("not an https URL")
	errRedirect     = errors.New("redirect refused")
	errBodyTooLarge = errors.New("response body too large")
)

func checkURL(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a valid URL")
	}
	if !u.IsAbs() || u.Opaque != "" {
		return nil, fmt.Errorf("%s is not an absolute URL", u.Redacted())
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%s has no host", u.Redacted())
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Errorf("%s has a fragment", u.Redacted())
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !allowHTTP && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%s: %w (plain http is allowed only to loopback hosts)", u.Redacted(), errInsecureURL)
		}
	default:
		return nil, fmt.Errorf("%s: %w (scheme %q)", u.Redacted(), errInsecureURL, u.Scheme)
	}
	return u, nil
}

func isLoopback(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if i := strings.IndexByte(h, '%'); i >= 0 {
		h = h[:i]
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

type redirectPolicy func(req *http.Request, via []*http.Request) error

func noRedirects() redirectPolicy {
	return func(req *http.Request, _ []*http.Request) error {
		return fmt.Errorf("%w: redirects are not followed", errRedirect)
	}
}

func followSecure(allowHTTP bool) redirectPolicy {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return fmt.Errorf("%w: more than %d redirects", errRedirect, 10)
		}
		switch strings.ToLower(req.URL.Scheme) {
		case "https":
			return nil
		case "http":
			if allowHTTP {
				return nil
			}
			if len(via) > 0 && isLoopback(req.URL.Hostname()) && isLoopback(via[len(via)-1].URL.Hostname()) {
				return nil
			}
			return fmt.Errorf("%w: redirect to plain http (%s)", errRedirect, req.URL.Redacted())
		}
		return fmt.Errorf("%w: redirect to scheme %q", errRedirect, req.URL.Scheme)
	}
}

func policyClient(base *http.Client, policy redirectPolicy) *http.Client {
	if base == nil {
		base = http.DefaultClient
	}
	c := *base
	inner := base.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := policy(req, via); err != nil {
			return err
		}
		if inner != nil {
			return inner(req, via)
		}
		return nil
	}
	return &c
}

func newHTTPClient() *http.Client {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          8,
		IdleConnTimeout:       90 * time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

func readBody(resp *http.Response, limit int64) ([]byte, error) {
	if limit < 0 {
		limit = 0
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", errBodyTooLarge, resp.ContentLength, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, limit)
	}
	return data, nil
}
