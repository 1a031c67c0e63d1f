package netpolicy

import (
	"context"
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

// MaxRedirects is the most redirects a [FollowSecure] policy follows, the
// same as net/http's default (which a custom CheckRedirect replaces).
const MaxRedirects = 10

// Errors returned by the policies of this package. Callers match them with
// [errors.Is]; the texts never contain a URL's credentials.
var (
	// ErrInsecureURL means a URL is not https and its host is not loopback.
	ErrInsecureURL = errors.New("not an https URL")
	// ErrRedirect means a redirect was refused by the policy.
	ErrRedirect = errors.New("redirect refused")
	// ErrBodyTooLarge means a response body exceeded its size limit.
	ErrBodyTooLarge = errors.New("response body too large")
)

// CheckURL parses raw and checks that it may be fetched: an absolute http or
// https URL with a host, without a fragment. Plain http is accepted only for
// a loopback host (see [IsLoopback]) or when allowHTTP is set, which a caller
// exposes as an option named Insecure... . The error says what is wrong and
// never quotes a password given in raw.
func CheckURL(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a valid URL")
	}
	if !u.IsAbs() || u.Opaque != "" {
		return nil, fmt.Errorf("%s is not an absolute URL", redacted(u))
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
		if !allowHTTP && !IsLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%s: %w (plain http is allowed only to loopback hosts)", u.Redacted(), ErrInsecureURL)
		}
	default:
		return nil, fmt.Errorf("%s: %w (scheme %q)", u.Redacted(), ErrInsecureURL, u.Scheme)
	}
	return u, nil
}

// IsLoopback reports whether host (as [url.URL.Hostname] returns it: no port,
// no brackets) names the local machine: "localhost" and every name under
// ".localhost" (RFC 6761 section 6.3), an address in 127.0.0.0/8, or ::1
// (IPv4-mapped forms included). A name that merely resolves to a loopback
// address does not count: the check never consults DNS.
func IsLoopback(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if i := strings.IndexByte(h, '%'); i >= 0 {
		h = h[:i] // an IPv6 zone does not change the address
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// RedirectPolicy decides whether a client follows a redirect; it has the
// signature of [http.Client.CheckRedirect]: req is the request about to be
// sent, via the requests already made, oldest first.
type RedirectPolicy func(req *http.Request, via []*http.Request) error

// NoRedirects refuses every redirect. Use it where a redirect would resend
// credentials or a token to another place (token introspection).
func NoRedirects() RedirectPolicy {
	return func(req *http.Request, _ []*http.Request) error {
		return fmt.Errorf("%w: redirects are not followed", ErrRedirect)
	}
}

// FollowSecure follows at most [MaxRedirects] redirects, each to an https
// URL, or to plain http only from a loopback host to a loopback host (or
// anywhere when allowHTTP is set). It is the policy for discovery documents
// and JWK Sets: a redirect must not downgrade a fetch to plain http.
func FollowSecure(allowHTTP bool) RedirectPolicy {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= MaxRedirects {
			return fmt.Errorf("%w: more than %d redirects", ErrRedirect, MaxRedirects)
		}
		switch strings.ToLower(req.URL.Scheme) {
		case "https":
			return nil
		case "http":
			if allowHTTP {
				return nil
			}
			if len(via) > 0 && IsLoopback(req.URL.Hostname()) && IsLoopback(via[len(via)-1].URL.Hostname()) {
				return nil
			}
			return fmt.Errorf("%w: redirect to plain http (%s)", ErrRedirect, req.URL.Redacted())
		}
		return fmt.Errorf("%w: redirect to scheme %q", ErrRedirect, req.URL.Scheme)
	}
}

// Client returns a client that sends through base (its Transport, Jar and
// Timeout) and applies policy to every redirect before base's own
// CheckRedirect, if any. base itself is not modified, so a client shared with
// other code keeps its behaviour there. A nil base stands for
// [http.DefaultClient].
func Client(base *http.Client, policy RedirectPolicy) *http.Client {
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

// Default timeouts of [NewClient].
const (
	DefaultDialTimeout = 10 * time.Second
	DefaultTLSTimeout  = 10 * time.Second
	DefaultTimeout     = 30 * time.Second

	// DefaultMaxResponseHeaderBytes bounds the headers of an answer read by
	// [NewClient]'s transport. net/http's own default is 10 MiB, which a
	// hostile server could make every fetch (and every concurrent
	// introspection call) hold in memory; no authorization server needs
	// more than a few KiB.
	DefaultMaxResponseHeaderBytes = 64 << 10
)

// DefaultMaxIdleConnsPerHost is how many idle connections the client of
// [NewClient] keeps to one host.
const DefaultMaxIdleConnsPerHost = 32

// NewClient returns a client with its own transport and bounded waits: dial
// and TLS handshake within 10s, a whole exchange within [DefaultTimeout],
// response headers of at most [DefaultMaxResponseHeaderBytes], TLS 1.2 or
// later, proxies from the environment. It is the default for
// callers given no HTTPClient; they call CloseIdleConnections when done, so
// that no connection goroutine outlives them.
func NewClient() *http.Client {
	t := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    DefaultTLSTimeout,
		ResponseHeaderTimeout:  DefaultTimeout,
		MaxResponseHeaderBytes: DefaultMaxResponseHeaderBytes,
		ExpectContinueTimeout:  time.Second,
		// Keep as many idle connections to one authorization server as
		// introspection allows calls in flight (32 by default); with
		// net/http's default of 2, every burst would open new connections,
		// each a TLS handshake.
		MaxIdleConns:        DefaultMaxIdleConnsPerHost * 2,
		MaxIdleConnsPerHost: DefaultMaxIdleConnsPerHost,
		IdleConnTimeout:     90 * time.Second,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &http.Client{Transport: t, Timeout: DefaultTimeout}
}

// ReadBody reads a response body of at most limit bytes. A body announced
// (Content-Length) or found to be longer fails with [ErrBodyTooLarge] without
// reading more than limit+1 bytes. It does not close the body.
func ReadBody(resp *http.Response, limit int64) ([]byte, error) {
	if limit < 0 {
		limit = 0
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrBodyTooLarge, resp.ContentLength, limit)
	}
	return ReadLimited(resp.Body, limit)
}

// ReadLimited reads r to its end if it holds at most limit bytes, and fails
// with [ErrBodyTooLarge] otherwise, after reading at most limit+1 bytes.
func ReadLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
	}
	return data, nil
}

// Redacted returns raw with any password replaced by "xxxxx", for errors and
// events; an unparsable raw gives "invalid URL" (a parse error would quote it
// whole).
func Redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "invalid URL"
	}
	return redacted(u)
}

// redacted is u.Redacted, which also hides everything after the scheme of an
// opaque URL: "rs:s3cr3t@as.example/x" (a URL whose "https://" was
// forgotten) parses as scheme "rs" and opaque "s3cr3t@as.example/x", which
// url.URL.Redacted would print whole.
func redacted(u *url.URL) string {
	if u.Opaque != "" {
		return u.Scheme + ":xxxxx"
	}
	return u.Redacted()
}

// Answer is a response read by [Get].
type Answer struct {
	Status int         // the HTTP status; 0 when no response came
	Header http.Header // the response headers; nil when no response came
	Body   []byte      // the body of a 200 answer
}

// maxDrain is how much of an unwanted body [Get] reads so that the
// connection can be reused: a little, never all of it.
const maxDrain = 4 << 10

// Get sends a GET for rawURL through client with the request headers in
// header, and reads the body of a 200 answer: at most limit bytes, more is
// [ErrBodyTooLarge] (see [ReadBody]). Any other status is an error that
// names it; the Answer still carries the status and headers. Errors name the
// URL without its password (net/http strips it from its own errors too).
// Redirects are whatever client's CheckRedirect allows: give it one from
// [Client].
func Get(ctx context.Context, client *http.Client, rawURL string, header http.Header, limit int64) (Answer, error) {
	var a Answer
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		// The error of url.Parse quotes the URL, password and all.
		return a, fmt.Errorf("cannot make a request for %s", Redacted(rawURL))
	}
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := client.Do(req)
	if err != nil {
		return a, err // a *url.Error: names the URL, without its password
	}
	defer resp.Body.Close()
	a.Status, a.Header = resp.StatusCode, resp.Header
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		return a, fmt.Errorf("%s answered %d %s", Redacted(rawURL), resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if a.Body, err = ReadBody(resp, limit); err != nil {
		return a, fmt.Errorf("reading %s: %w", Redacted(rawURL), err)
	}
	return a, nil
}
