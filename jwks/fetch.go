package jwks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
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
	if s.cfg.discoveryURLs != nil {
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
	r := result{url: netpolicy.Redacted(jwksURL)}
	h := http.Header{"Accept": {"application/jwk-set+json, application/json"}}
	if forced {
		h.Set("Cache-Control", "no-cache") // ask caches on the way for a fresh copy
	}
	a, err := netpolicy.Get(ctx, s.client, jwksURL, h, s.cfg.MaxBodyBytes)
	r.status, r.header = a.Status, a.Header
	if err != nil {
		r.err = s.fetchErr(err)
		return r
	}
	keys, skipped, err := ParseSet(a.Body, s.cfg.MaxKeys)
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

// discover reads the issuer's metadata documents in the configured order
// and returns the first one's jwks_uri. The next document is tried only when
// the server says the one before does not exist (a 4xx status other than
// 429): an outage or a document that fails its checks is a failure, not a
// reason to believe another document.
func (s *Set) discover(ctx context.Context, forced bool) (string, result) {
	var r result
	for i, u := range s.cfg.discoveryURLs {
		var ep string
		var err error
		r = result{url: netpolicy.Redacted(u)}
		ep, r.status, err = s.meta.Endpoint(ctx, u, "jwks_uri", forced)
		if err == nil {
			return ep, r
		}
		r.err = s.fetchErr(err)
		if i+1 < len(s.cfg.discoveryURLs) && r.status >= 400 && r.status < 500 && r.status != http.StatusTooManyRequests {
			continue // no such document: try the other kind
		}
		return "", r
	}
	return "", r
}

// fetchErr is err, or a plain "closed" once Close has cancelled the fetch.
func (s *Set) fetchErr(err error) error {
	if s.ctx.Err() != nil {
		return errors.New("jwks: key set closed")
	}
	return fmt.Errorf("jwks: %w", err)
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
