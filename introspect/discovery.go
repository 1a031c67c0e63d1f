package introspect

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/internal/metadata"
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
	urls     []string         // the metadata documents, in the order tried
	fetcher  metadata.Fetcher // its Client follows redirects to https only
	timeout  time.Duration    // for each document
	now      func() time.Time
	observer tollgate.Observer

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

// lookup reads the metadata documents in turn (RFC 8414, then OpenID
// Connect Discovery) until one names a usable introspection endpoint. Any
// failure moves on to the next document: discovery runs once, on first use,
// and an authorization server that answers only one of the two kinds, in
// whatever way, must still be usable.
func (d *discovery) lookup(ctx context.Context) (string, error) {
	start := d.now()
	var errs []error
	status := 0
	urls := d.urls
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

// fetch reads one metadata document, within Timeout, and returns its
// introspection_endpoint, after checking that it describes our issuer.
func (d *discovery) fetch(ctx context.Context, u string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	ep, status, err := d.fetcher.Endpoint(ctx, u, "introspection_endpoint", false)
	if err != nil {
		return "", status, err
	}
	// As for a configured Endpoint: a password in the URL would reach every
	// event and log line that names the endpoint (and, with
	// client_secret_post or private_key_jwt, net/http would send it as Basic
	// credentials). The error names the document, not the endpoint.
	if p, err := url.Parse(ep); err != nil || p.User != nil {
		return "", status, fmt.Errorf("%s: introspection_endpoint has user information", netpolicy.Redacted(u))
	}
	return ep, status, nil
}
