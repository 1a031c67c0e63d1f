package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tollgate/tollgate"
)

// Config configures a [Middleware]. The zero value reads bearer tokens from
// the Authorization header only, requires one on every request, answers
// without a realm and without resource metadata, and sets Retry-After: 5 on
// 503 answers.
type Config struct {
	// Realm is the realm attribute of the WWW-Authenticate challenges. Empty
	// means no realm attribute. It may contain printable ASCII except '"' and
	// '\' (RFC 6750 section 3); New rejects anything else.
	Realm string

	// AllowFormToken also accepts the token as the access_token parameter of
	// a form body (RFC 6750 section 2.2): only for POST requests whose
	// Content-Type is application/x-www-form-urlencoded. Enabling it makes
	// the middleware read such bodies (at most MaxFormBytes); the handler
	// then finds the body, without the access_token parameter, in r.Body and
	// r.PostForm. Off, bodies are never touched.
	AllowFormToken bool

	// MaxFormBytes bounds the form body read for AllowFormToken. 0 means
	// 1 MiB; a larger body is answered 400 invalid_request. Negative values
	// are rejected by New: the read is always bounded.
	MaxFormBytes int64

	// AllowQueryToken also accepts the token as the access_token query
	// parameter (RFC 6750 section 2.3, which advises against it: URLs end up
	// in logs and browser histories). The parameter is removed from r.URL,
	// r.RequestURI and r.Form before the handler runs, and the answer is
	// marked Cache-Control: private (section 2.3) unless the handler sets
	// its own.
	//
	// Whether or not it is enabled, a query token next to another token is
	// answered 400 invalid_request; alone and not enabled, it counts as no
	// credentials.
	AllowQueryToken bool

	// Optional lets requests without credentials through as anonymous: the
	// handler finds no principal in the context ([tollgate.FromContext]
	// reports false). A request that carries a token is still rejected if the
	// token is ill-formed or invalid.
	Optional bool

	// Check, if set, runs on every request after the token was validated
	// (and after any cache inside the validator), for rules that depend on
	// the request rather than the token: the tenant in the path, the
	// method... A non-nil error rejects the request, classified by
	// [tollgate.AsError]: a plain error answers 401 invalid_token (fail
	// closed); return an error matching [tollgate.ErrInsufficientScope] for
	// 403, or [tollgate.ErrUnavailable] for 503. Check does not run for
	// anonymous requests (see Optional).
	Check func(r *http.Request, p *tollgate.Principal) error

	// ResourceMetadataURL is the URL of the RFC 9728 protected resource
	// metadata document (see [MetadataHandler.URL]); when set, 401 and 403
	// challenges carry it as the resource_metadata attribute, which is how
	// clients (MCP hosts among them) discover the authorization server. It
	// must be an absolute https URL (http only for loopback hosts) and is
	// never derived from the request's Host or X-Forwarded-* headers.
	ResourceMetadataURL string

	// RetryAfter is the Retry-After of 503 answers, rounded up to whole
	// seconds. 0 means 5 seconds. Negative values are rejected by New:
	// DESIGN requires Retry-After on every 503.
	RetryAfter time.Duration

	// ErrorHandler, if set, writes the body of every rejection, for example
	// as RFC 9457 problem details. When it is called, the status is decided
	// and the WWW-Authenticate and Retry-After headers are set; whatever
	// status it passes to WriteHeader, the response carries rej.Status and
	// those headers. The default writes http.StatusText(rej.Status) as plain
	// text.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, rej Rejection)

	// Observer receives an accept event for every request let through with
	// a principal and a reject event for every rejection (including those of
	// [RequireScopes], [RequireAnyScope] and [WriteError] behind this
	// middleware). See [tollgate.NewLogObserver].
	Observer tollgate.Observer

	// Now is the clock that times the decisions reported to Observer
	// (default time.Now).
	Now func() time.Time
}

const (
	defaultMaxFormBytes = 1 << 20
	defaultRetryAfter   = 5 * time.Second
)

// Middleware authenticates HTTP requests with bearer tokens (RFC 6750): it
// extracts the token, validates it with a [tollgate.Validator], runs the
// per-request check and puts the [*tollgate.Principal] in the request
// context, or answers the request itself with the status and challenge of
// the failure. It is safe for concurrent use.
type Middleware struct {
	v          tollgate.Validator
	allowForm  bool
	allowQuery bool
	optional   bool
	maxForm    int64
	check      func(*http.Request, *tollgate.Principal) error
	now        func() time.Time
	timed      bool // an observer wants durations
	resp       *responder
}

// New returns a Middleware that validates tokens with v. It reports an
// error for a nil validator and for a configuration New cannot serve
// faithfully (a realm or metadata URL that cannot be quoted in a header, a
// negative size or duration).
func New(v tollgate.Validator, cfg Config) (*Middleware, error) {
	if v == nil {
		return nil, errors.New("middleware: nil validator")
	}
	if err := checkQuotable(cfg.Realm); err != nil {
		return nil, fmt.Errorf("middleware: realm: %w", err)
	}
	if cfg.ResourceMetadataURL != "" {
		if err := checkURL(cfg.ResourceMetadataURL); err != nil {
			return nil, fmt.Errorf("middleware: resource metadata URL: %w", err)
		}
	}
	if cfg.MaxFormBytes < 0 {
		return nil, errors.New("middleware: negative MaxFormBytes: the form body read must be bounded")
	}
	if cfg.RetryAfter < 0 {
		return nil, errors.New("middleware: negative RetryAfter: 503 answers always carry Retry-After")
	}
	m := &Middleware{
		v:          v,
		allowForm:  cfg.AllowFormToken,
		allowQuery: cfg.AllowQueryToken,
		optional:   cfg.Optional,
		maxForm:    cfg.MaxFormBytes,
		check:      cfg.Check,
		now:        cfg.Now,
		timed:      cfg.Observer.OnAccept != nil || cfg.Observer.OnReject != nil,
		resp:       newResponder(cfg.Realm, cfg.ResourceMetadataURL, cfg.RetryAfter, cfg.ErrorHandler, cfg.Observer),
	}
	if m.maxForm == 0 {
		m.maxForm = defaultMaxFormBytes
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m, nil
}

// Handler returns a handler that authenticates each request and then calls
// next with the principal in the request context ([tollgate.FromContext]).
// Its signature fits the func(http.Handler) http.Handler chains of
// net/http, chi and gorilla/mux.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	if next == nil {
		panic("middleware: nil handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.serve(w, r, next)
	})
}

func (m *Middleware) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	var start time.Time
	if m.timed {
		start = m.now()
	}
	token, r, xerr := m.extract(w, r)
	if xerr != nil {
		if m.optional && xerr.Kind == tollgate.ErrNoToken {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), responderKey{}, m.resp)))
			return
		}
		m.reject(w, r, xerr, start)
		return
	}
	ctx := r.Context()
	p, err := m.v.Validate(ctx, token)
	if err == nil && p == nil {
		// A validator that breaks its contract has decided nothing.
		err = &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "validator", Detail: "validator returned neither a principal nor an error"}
	}
	if err == nil && m.check != nil {
		err = m.check(r, p)
	}
	if err != nil {
		// A custom validator or Check may quote the token; it must reach no log.
		m.reject(w, r, tollgate.RedactToken(tollgate.AsError(err), token), start)
		return
	}
	if m.resp.obs.OnAccept != nil {
		m.resp.obs.OnAccept(ctx, tollgate.AcceptEvent{Principal: p, Duration: m.now().Sub(start)})
	}
	ctx = context.WithValue(tollgate.NewContext(ctx, p), responderKey{}, m.resp)
	next.ServeHTTP(w, r.WithContext(ctx))
}

func (m *Middleware) reject(w http.ResponseWriter, r *http.Request, e *tollgate.Error, start time.Time) {
	if m.resp.obs.OnReject != nil {
		m.resp.obs.OnReject(r.Context(), tollgate.RejectEvent{Err: e, Duration: m.now().Sub(start)})
	}
	m.resp.write(w, r, e)
}
