package tollgate

import (
	"context"
	"time"
)

// Observer receives events from every part of tollgate, for logs, metrics and
// traces. Each field is optional; a nil func is skipped. It is a struct of
// funcs (like [net/http/httptrace.ClientTrace]) so that adding an event later
// breaks no one.
//
// Events never carry a token or a secret. The funcs are called synchronously
// on the request path (or the background refresh), so they must be fast and
// safe for concurrent use. [NewLogObserver] fills one in for a [log/slog]
// logger; [JoinObservers] combines several.
type Observer struct {
	// OnAccept is called by a transport when a request is let through.
	OnAccept func(ctx context.Context, e AcceptEvent)
	// OnReject is called by a transport when a request is refused.
	OnReject func(ctx context.Context, e RejectEvent)
	// OnKeyFetch is called after a JWK Set was fetched and parsed.
	OnKeyFetch func(ctx context.Context, e KeyFetchEvent)
	// OnKeyFetchFailure is called when fetching a JWK Set (or the discovery
	// document that names it) failed; the keys already held stay in use.
	OnKeyFetchFailure func(ctx context.Context, e KeyFetchEvent)
	// OnKeySkipped is called for each key of a fetched set that was not
	// accepted (unsupported type, too small, private, wrong use...).
	OnKeySkipped func(ctx context.Context, e KeySkippedEvent)
	// OnIntrospect is called after an introspection request was answered.
	OnIntrospect func(ctx context.Context, e IntrospectEvent)
	// OnIntrospectFailure is called when an introspection request failed:
	// network error, bad status, unparsable answer, or our own credentials
	// refused (CredentialsRejected).
	OnIntrospectFailure func(ctx context.Context, e IntrospectEvent)
	// OnCacheHit is called when a validation result was served from a cache.
	OnCacheHit func(ctx context.Context, e CacheEvent)
	// OnCacheMiss is called when a cache had no usable entry.
	OnCacheMiss func(ctx context.Context, e CacheEvent)
}

// AcceptEvent describes a request that was let through.
type AcceptEvent struct {
	Principal *Principal
	// Duration is the time spent deciding (validation and checks).
	Duration time.Duration
}

// RejectEvent describes a request that was refused.
type RejectEvent struct {
	Err      *Error
	Duration time.Duration
}

// KeyFetchEvent describes one fetch of a JWK Set.
type KeyFetchEvent struct {
	// URL is the JWK Set (or discovery document) URL.
	URL string
	// Forced is true for a refetch triggered by an unknown key ID.
	Forced bool
	// Status is the HTTP status, or 0 if no response was received.
	Status int
	// Keys is the number of usable keys after the fetch.
	Keys int
	// Added and Removed list the key IDs that the fetch added and removed.
	Added, Removed []string
	Duration       time.Duration
	// Err is the failure, for OnKeyFetchFailure.
	Err error
}

// KeySkippedEvent describes a key of a JWK Set that was not accepted.
type KeySkippedEvent struct {
	URL    string
	KeyID  string
	Reason string
}

// IntrospectEvent describes one call to an introspection endpoint.
type IntrospectEvent struct {
	Endpoint string
	// Status is the HTTP status, or 0 if no response was received.
	Status int
	// Active is the "active" member of a successful answer.
	Active   bool
	Duration time.Duration
	// CredentialsRejected is true when the authorization server refused our
	// own client credentials (401 or 403): a configuration error, not a
	// problem with the caller's token.
	CredentialsRejected bool
	// Err is the failure, for OnIntrospectFailure.
	Err error
}

// CacheEvent describes a cache lookup.
type CacheEvent struct {
	// Cache names the cache ("jwt", "introspection", or a user's name).
	Cache string
	// Negative is true for a hit on a cached rejection.
	Negative bool
	// Coalesced is true for a miss that joined a lookup already in flight
	// instead of starting one.
	Coalesced bool
}

// IsZero reports whether o observes nothing. Packages use it to fall back to
// logging through their Logger when no Observer was configured, so that a
// failing key fetch is never silent.
func (o Observer) IsZero() bool {
	return o.OnAccept == nil && o.OnReject == nil && o.OnKeyFetch == nil && o.OnKeyFetchFailure == nil &&
		o.OnKeySkipped == nil && o.OnIntrospect == nil && o.OnIntrospectFailure == nil &&
		o.OnCacheHit == nil && o.OnCacheMiss == nil
}

// JoinObservers returns an Observer that calls each of obs in turn.
func JoinObservers(obs ...Observer) Observer {
	var j Observer
	for _, o := range obs {
		j.OnAccept = join(j.OnAccept, o.OnAccept)
		j.OnReject = join(j.OnReject, o.OnReject)
		j.OnKeyFetch = join(j.OnKeyFetch, o.OnKeyFetch)
		j.OnKeyFetchFailure = join(j.OnKeyFetchFailure, o.OnKeyFetchFailure)
		j.OnKeySkipped = join(j.OnKeySkipped, o.OnKeySkipped)
		j.OnIntrospect = join(j.OnIntrospect, o.OnIntrospect)
		j.OnIntrospectFailure = join(j.OnIntrospectFailure, o.OnIntrospectFailure)
		j.OnCacheHit = join(j.OnCacheHit, o.OnCacheHit)
		j.OnCacheMiss = join(j.OnCacheMiss, o.OnCacheMiss)
	}
	return j
}

func join[E any](a, b func(context.Context, E)) func(context.Context, E) {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(ctx context.Context, e E) { a(ctx, e); b(ctx, e) }
}
