package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/netpolicy"
)

// result is the outcome of one fetch.
type result struct {
	url     string // the document fetched (or that failed), redacted
	status  int
	header  http.Header
	keys    []*Key
	skipped []Skipped
	err     error
}

// fetch reads the set (after the issuer's metadata, if needed) within
// Timeout. It never touches the keys held: run decides what to keep.
func (s *Set) fetch(forced bool) result {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Timeout)
	defer cancel()
	jwksURL := s.cfg.jwksURL
	if s.cfg.issuer != "" {
		s.mu.Lock()
		jwksURL = s.discovered
		s.mu.Unlock()
		if jwksURL == "" {
			u, r := s.discover(ctx, forced)
			if r.err != nil {
				return r
			}
			jwksURL = u
			s.mu.Lock()
			s.discovered = u
			s.mu.Unlock()
		}
	}
	body, r := s.get(ctx, jwksURL, forced, "application/jwk-set+json, application/json")
	if r.err != nil {
		return r
	}
	keys, skipped, err := ParseSet(body, s.cfg.MaxKeys)
	r.skipped = skipped
	switch {
	case err != nil:
		r.err = err
	case len(keys) == 0:
		// A set that verifies nothing is never better than the keys held:
		// count it as a failed fetch and keep them (until the stale limit).
		r.err = fmt.Errorf("jwks: the JWK Set has no usable key (%d skipped)", len(skipped))
	default:
		r.keys = keys
	}
	return r
}

// discover reads the issuer's metadata document and returns its jwks_uri.
func (s *Set) discover(ctx context.Context, forced bool) (string, result) {
	var r result
	for i, u := range s.cfg.discoveryURLs {
		var body []byte
		body, r = s.get(ctx, u, forced, "application/json")
		if r.err != nil {
			if i+1 < len(s.cfg.discoveryURLs) && r.status >= 400 && r.status < 500 && r.status != http.StatusTooManyRequests {
				continue // no such document: try the other kind
			}
			return "", r
		}
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			r.err = errors.New("jwks: the metadata document is not a JSON object with string issuer and jwks_uri")
			return "", r
		}
		if doc.Issuer != s.cfg.issuer {
			r.err = fmt.Errorf("jwks: the metadata document names issuer %s, not the configured %q", clip(doc.Issuer), s.cfg.issuer)
			return "", r
		}
		if doc.JWKSURI == "" {
			r.err = errors.New("jwks: the metadata document has no jwks_uri")
			return "", r
		}
		if _, err := netpolicy.CheckURL(doc.JWKSURI, s.cfg.InsecureAllowHTTP); err != nil {
			r.err = fmt.Errorf("jwks: jwks_uri of the metadata document: %w", err)
			return "", r
		}
		return doc.JWKSURI, r
	}
	return "", r
}

// get fetches one document: status 200 and at most MaxBodySize bytes, or a
// failure. A forced fetch asks caches on the way for a fresh copy.
func (s *Set) get(ctx context.Context, rawURL string, forced bool, accept string) ([]byte, result) {
	r := result{url: redact(rawURL)}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		r.err = fmt.Errorf("jwks: request for %s: %w", r.url, err)
		return nil, r
	}
	req.Header.Set("Accept", accept)
	if forced {
		req.Header.Set("Cache-Control", "no-cache")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if s.ctx.Err() != nil {
			err = errors.New("jwks: key set closed")
		}
		r.err = err // a *url.Error: names the URL, without its password
		return nil, r
	}
	defer resp.Body.Close()
	r.status, r.header = resp.StatusCode, resp.Header
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused, no more.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		r.err = fmt.Errorf("jwks: %s answered %d %s", r.url, resp.StatusCode, http.StatusText(resp.StatusCode))
		return nil, r
	}
	body, err := netpolicy.ReadBody(resp, s.cfg.MaxBodySize)
	if err != nil {
		if s.ctx.Err() != nil {
			err = errors.New("jwks: key set closed")
		}
		r.err = fmt.Errorf("jwks: reading %s: %w", r.url, err)
		return nil, r
	}
	return body, r
}

// maxAge returns the freshness lifetime a response's Cache-Control allows
// (RFC 9111 section 5.2.2): max-age, or 0 for no-cache and no-store.
func maxAge(h http.Header) (time.Duration, bool) {
	var age time.Duration
	found, noCache := false, false
	for _, line := range h.Values("Cache-Control") {
		for _, d := range strings.Split(line, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-cache", "no-store":
				noCache = true
			case "max-age":
				if found {
					continue // RFC 9111 section 4.2.1: the first one counts
				}
				n, err := strconv.ParseUint(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
				switch {
				case err == nil && n <= math.MaxInt64/uint64(time.Second):
					age, found = time.Duration(n)*time.Second, true
				case errors.Is(err, strconv.ErrRange), err == nil:
					age, found = time.Duration(math.MaxInt64), true
				}
			}
		}
	}
	if noCache {
		return 0, true
	}
	return age, found
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "invalid URL"
	}
	return u.Redacted()
}

// clip quotes a value taken from a response, cut to a length fit for a log.
func clip(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strconv.Quote(s)
}
