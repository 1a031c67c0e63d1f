package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tollgate/tollgate"
)

// The outcomes of tollgate_requests_total: one per request.
const (
	outcomeAllowed           = "allowed"            // token valid, rule satisfied
	outcomeAnonymous         = "anonymous"          // anonymous rule, no token
	outcomeNoToken           = "no_token"           // 401 without error code
	outcomeInvalidRequest    = "invalid_request"    // 400
	outcomeInvalidToken      = "invalid_token"      // 401 invalid_token
	outcomeInsufficientScope = "insufficient_scope" // 403 insufficient_scope
	outcomeUnavailable       = "unavailable"        // 503
	outcomeDeniedPath        = "denied_path"        // no rule, or a deny rule
	outcomeAmbiguousPath     = "ambiguous_path"     // path variants select rules that disagree
	outcomeBadPath           = "bad_path"           // refused by path normalization
	outcomeBadForward        = "bad_forward"        // forward-auth: original request unreadable
	outcomeForgedHeader      = "forged_header"      // forward-auth: X_Auth_Subject and the like
	outcomeOverrideHeader    = "override_header"    // forward-auth: X-HTTP-Method-Override and the like
)

// metrics holds the Prometheus collectors of a server, in a registry of its
// own (no global state), fed by a tollgate.Observer.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	cache      *prometheus.CounterVec
	keyFetches *prometheus.CounterVec
	keyFails   *prometheus.CounterVec
	keySkipped *prometheus.CounterVec
	introCalls *prometheus.CounterVec
	introFails *prometheus.CounterVec
}

// latencyBuckets cover a cached token (microseconds) to an introspection
// call that times out (seconds).
var latencyBuckets = []float64{
	0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5,
	0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

func newMetrics(ready func() bool) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_requests_total",
			Help: "Requests decided, by outcome.",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tollgate_validation_duration_seconds",
			Help:    "Time spent deciding on a request's token (validation, cache, checks), by result.",
			Buckets: latencyBuckets,
		}, []string{"result"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_cache_lookups_total",
			Help: "Validation cache lookups, by cache and result (hit, negative_hit, miss, coalesced). Hit ratio: sum of hits over the total.",
		}, []string{"cache", "result"}),
		keyFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_jwks_refreshes_total",
			Help: "Successful fetches of a JWK Set, by URL.",
		}, []string{"url"}),
		keyFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_jwks_refresh_failures_total",
			Help: "Failed fetches of a JWK Set or its discovery document, by URL.",
		}, []string{"url"}),
		keySkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_jwks_keys_skipped_total",
			Help: "Members of fetched JWK Sets that were not accepted as keys, by URL.",
		}, []string{"url"}),
		introCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_introspection_requests_total",
			Help: "Introspection requests answered by the authorization server, by whether the token was active.",
		}, []string{"active"}),
		introFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_introspection_failures_total",
			Help: "Introspection requests that failed, by reason (credentials: the server refused our client credentials).",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.cache, m.keyFetches, m.keyFails, m.keySkipped, m.introCalls, m.introFails,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tollgate_ready",
			Help: "1 when every issuer's keys are loaded and the server is not shutting down.",
		}, func() float64 {
			if ready() {
				return 1
			}
			return 0
		}),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Every outcome appears from the start, at 0, so that rates and alerts
	// work before the first event.
	for _, o := range []string{outcomeAllowed, outcomeAnonymous, outcomeNoToken, outcomeInvalidRequest, outcomeInvalidToken,
		outcomeInsufficientScope, outcomeUnavailable, outcomeDeniedPath, outcomeAmbiguousPath, outcomeBadPath, outcomeBadForward, outcomeForgedHeader, outcomeOverrideHeader} {
		m.requests.WithLabelValues(o)
	}
	return m
}

// handler serves the metrics in the Prometheus exposition format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Timeout: 10e9})
}

// count records a decision tollgate made without an observer event: path
// refusals and anonymous requests.
func (m *metrics) count(outcome string) {
	m.requests.WithLabelValues(outcome).Inc()
}

// outcome names the outcome of a rejection.
func outcome(e *tollgate.Error) string {
	switch {
	case e == nil:
		return outcomeInvalidToken
	case errors.Is(e.Kind, tollgate.ErrUnavailable):
		return outcomeUnavailable
	case errors.Is(e.Kind, tollgate.ErrInsufficientScope):
		return outcomeInsufficientScope
	case errors.Is(e.Kind, tollgate.ErrInvalidRequest):
		return outcomeInvalidRequest
	case errors.Is(e.Kind, tollgate.ErrNoToken):
		return outcomeNoToken
	}
	return outcomeInvalidToken
}

// observer feeds the collectors from tollgate's events.
func (m *metrics) observer() tollgate.Observer {
	allowed := m.requests.WithLabelValues(outcomeAllowed)
	accepted := m.latency.WithLabelValues("accept")
	rejected := m.latency.WithLabelValues("reject")
	return tollgate.Observer{
		OnAccept: func(_ context.Context, e tollgate.AcceptEvent) {
			allowed.Inc()
			accepted.Observe(e.Duration.Seconds())
		},
		OnReject: func(_ context.Context, e tollgate.RejectEvent) {
			m.requests.WithLabelValues(outcome(e.Err)).Inc()
			rejected.Observe(e.Duration.Seconds())
		},
		OnCacheHit: func(_ context.Context, e tollgate.CacheEvent) {
			result := "hit"
			if e.Negative {
				result = "negative_hit"
			}
			m.cache.WithLabelValues(e.Cache, result).Inc()
		},
		OnCacheMiss: func(_ context.Context, e tollgate.CacheEvent) {
			result := "miss"
			if e.Coalesced {
				result = "coalesced"
			}
			m.cache.WithLabelValues(e.Cache, result).Inc()
		},
		OnKeyFetch: func(_ context.Context, e tollgate.KeyFetchEvent) {
			m.keyFetches.WithLabelValues(e.URL).Inc()
		},
		OnKeyFetchFailure: func(_ context.Context, e tollgate.KeyFetchEvent) {
			m.keyFails.WithLabelValues(e.URL).Inc()
		},
		OnKeySkipped: func(_ context.Context, e tollgate.KeySkippedEvent) {
			m.keySkipped.WithLabelValues(e.URL).Inc()
		},
		OnIntrospect: func(_ context.Context, e tollgate.IntrospectEvent) {
			active := "false"
			if e.Active {
				active = "true"
			}
			m.introCalls.WithLabelValues(active).Inc()
		},
		OnIntrospectFailure: func(_ context.Context, e tollgate.IntrospectEvent) {
			reason := "error"
			if e.CredentialsRejected {
				reason = "credentials"
			}
			m.introFails.WithLabelValues(reason).Inc()
		},
	}
}
