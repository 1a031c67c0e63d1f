package introspect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/internal/netpolicy"
)

// discoveryRetry is the least time between two failed discoveries: while the
// metadata cannot be read, requests fail fast with ErrUnavailable instead of
// each waiting on the authorization server.
const discoveryRetry = 5 * time.Second

// maxMetadataBytes bounds a metadata document.
const maxMetadataBytes = 256 << 10

// discovery finds the introspection endpoint in the issuer's metadata, once,
// on first use; concurrent callers wait for the one lookup in flight.
type discovery struct {
	issuer    string
	client    *http.Client // follows redirects to https only
	allowHTTP bool
	timeout   time.Duration
	now       func() time.Time
	observer  tollgate.Observer

	endpoint atomic.Pointer[string]

	mu       sync.Mutex
	running  chan struct{} // closed when the lookup in flight ends
	err      error         // the last failure
	failedAt time.Time
}

// get returns the introspection endpoint, discovering it if need be.
func (d *discovery) get(ctx context.Context) (string, error) {
	for {
		if p := d.endpoint.Load(); p != nil {
			return *p, nil
		}
		d.mu.Lock()
		if p := d.endpoint.Load(); p != nil {
			d.mu.Unlock()
			return *p, nil
		}
		if ch := d.running; ch != nil {
			d.mu.Unlock()
			select {
			case <-ch:
				continue // done, or failed because its caller gave up: look again
			case <-ctx.Done():
				return "", unavailable("discovery", "gave up waiting for discovery", ctx.Err())
			}
		}
		if d.err != nil && d.now().Sub(d.failedAt) < discoveryRetry {
			err := d.err
			d.mu.Unlock()
			return "", err
		}
		ch := make(chan struct{})
		d.running = ch
		d.mu.Unlock()

		ep, err := d.lookup(ctx)

		d.mu.Lock()
		d.running = nil
		close(ch)
		switch {
		case err == nil:
			d.endpoint.Store(&ep)
			d.err = nil
		case ctx.Err() == nil:
			// Our caller's impatience is not the server's failure: only a
			// real failure delays the next attempt.
			d.err, d.failedAt = err, d.now()
		}
		d.mu.Unlock()
		return ep, err
	}
}

// metadataURLs returns where the issuer's metadata may be: RFC 8414 (the
// well-known segment inserted before the issuer's path), then OpenID Connect
// Discovery (appended to the issuer).
func metadataURLs(issuer string) []string {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil
	}
	path := strings.TrimSuffix(u.Path, "/")
	rfc8414 := *u
	rfc8414.Path, rfc8414.RawPath = "/.well-known/oauth-authorization-server"+path, ""
	oidc := *u
	oidc.Path, oidc.RawPath = path+"/.well-known/openid-configuration", ""
	return []string{rfc8414.String(), oidc.String()}
}

func (d *discovery) lookup(ctx context.Context) (string, error) {
	start := d.now()
	var errs []error
	status := 0
	urls := metadataURLs(d.issuer)
	for _, u := range urls {
		ep, st, err := d.fetch(ctx, u)
		if err == nil {
			return ep, nil
		}
		errs = append(errs, err)
		status = st
		if ctx.Err() != nil {
			break
		}
	}
	err := unavailable("discovery", "could not discover the introspection endpoint", errors.Join(errs...))
	if d.observer.OnIntrospectFailure != nil {
		d.observer.OnIntrospectFailure(ctx, tollgate.IntrospectEvent{
			Endpoint: urls[len(urls)-1], Status: status, Duration: d.now().Sub(start), Err: err,
		})
	}
	return "", err
}

// fetch reads one metadata document and returns its introspection_endpoint,
// after checking that it describes our issuer.
func (d *discovery) fetch(ctx context.Context, u string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		drain(resp)
		return "", resp.StatusCode, fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	body, err := netpolicy.ReadBody(resp, maxMetadataBytes)
	if err != nil {
		return "", resp.StatusCode, fmt.Errorf("GET %s: %w", u, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return "", resp.StatusCode, fmt.Errorf("GET %s: not a JSON object", u)
	}
	iss, err1 := str(m, "issuer")
	ep, err2 := str(m, "introspection_endpoint")
	switch {
	case err1 != nil || err2 != nil:
		return "", resp.StatusCode, fmt.Errorf("GET %s: malformed metadata", u)
	case iss != d.issuer:
		// RFC 8414 section 3.3: a document for another issuer must not be
		// used, or whoever serves it chooses where our tokens go.
		return "", resp.StatusCode, fmt.Errorf("GET %s: metadata of issuer %q, want %q", u, iss, d.issuer)
	case ep == "":
		return "", resp.StatusCode, fmt.Errorf("GET %s: no introspection_endpoint", u)
	}
	if _, err := netpolicy.CheckURL(ep, d.allowHTTP); err != nil {
		return "", resp.StatusCode, fmt.Errorf("GET %s: introspection_endpoint: %w", u, err)
	}
	return ep, resp.StatusCode, nil
}
