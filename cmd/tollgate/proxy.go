package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/tollgate/tollgate"
)

// proxy is the handler of `tollgate proxy`: it normalizes the path, finds the
// rule, lets the rule's middleware validate the token and check scopes, and
// forwards what passes to the upstream with the identity headers.
type proxy struct {
	a         *app
	m         *metrics
	logger    *slog.Logger
	upstream  *url.URL
	passToken bool
	keepHost  bool
	transport *http.Transport
	rp        *httputil.ReverseProxy
}

func newProxy(a *app, m *metrics) (*proxy, error) {
	pc := a.cfg.Proxy
	u, err := url.Parse(pc.Upstream)
	if err != nil {
		return nil, err
	}
	t := pc.Transport
	p := &proxy{
		a:         a,
		m:         m,
		logger:    a.logger,
		upstream:  u,
		passToken: pc.PassToken,
		keepHost:  pc.PreserveHost,
		transport: &http.Transport{
			// The upstream is reached directly: environment proxy settings
			// are for the authorization server's client.
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: t.DialTimeout.D(), KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   t.TLSHandshakeTimeout.D(),
			ResponseHeaderTimeout: t.ResponseHeaderTimeout.D(),
			IdleConnTimeout:       max(t.IdleConnTimeout.D(), 0),
			MaxIdleConnsPerHost:   t.MaxIdleConnsPerHost,
			ExpectContinueTimeout: time.Second,
			ForceAttemptHTTP2:     true,
		},
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:      p.rewrite,
		Transport:    p.transport,
		ErrorHandler: p.upstreamError,
		ErrorLog:     slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
		// Without a pool, ReverseProxy allocates a 32 KiB buffer per
		// response.
		BufferPool: &bufferPool{},
	}
	if err := a.handlers(http.HandlerFunc(p.forward)); err != nil {
		return nil, err
	}
	return p, nil
}

// ServeHTTP decides on a request and forwards it if it passes.
func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	np, err := normalizePath(target)
	if err != nil {
		p.m.count(outcomeBadPath)
		p.logger.LogAttrs(r.Context(), slog.LevelInfo, "tollgate: path refused",
			slog.String("method", r.Method), slog.String("reason", err.Error()))
		plainError(w, http.StatusBadRequest)
		return
	}
	// From here on, and upstream, the path is exactly as the rules see it.
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = np, ""
	r2.URL = &u
	if p.a.isMetadataPath(np) {
		p.a.metadata.ServeHTTP(w, r2)
		return
	}
	rl := p.a.ruleFor(r.Context(), p.m, r.Method, np)
	if rl == nil {
		plainError(w, http.StatusForbidden)
		return
	}
	rl.handler.ServeHTTP(w, r2)
}

// forward runs behind the rule's middleware, for requests it let through.
func (p *proxy) forward(w http.ResponseWriter, r *http.Request) {
	if _, ok := tollgate.FromContext(r.Context()); !ok {
		p.m.count(outcomeAnonymous)
	}
	p.rp.ServeHTTP(w, r)
}

// rewrite builds the upstream request. It runs after ReverseProxy removed the
// hop-by-hop headers, so a client's "Connection: X-Auth-Subject" cannot
// remove the identity headers set here. It removes the override headers
// (X-HTTP-Method-Override, X-Original-URL...), with which the upstream would
// run another method or serve another path than the rules judged: POST
// /orders/5 with X-HTTP-Method-Override: DELETE is authorized as a POST.
func (p *proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(p.upstream)
	if p.keepHost {
		pr.Out.Host = pr.In.Host
	}
	pr.SetXForwarded()
	p.a.identity.stripFrom(pr.Out.Header)
	p.a.overrides.stripFrom(pr.Out.Header)
	if prin, ok := tollgate.FromContext(pr.In.Context()); ok {
		p.a.identity.set(pr.Out.Header, prin, false)
		if !p.passToken {
			pr.Out.Header.Del("Authorization")
		}
	}
}

// upstreamError answers a request the upstream could not serve.
func (p *proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadGateway
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		status = http.StatusGatewayTimeout
	}
	level := slog.LevelWarn
	if errors.Is(err, context.Canceled) {
		level = slog.LevelDebug // the client went away
	}
	p.logger.LogAttrs(r.Context(), level, "tollgate: upstream request failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	plainError(w, status)
}

func (p *proxy) close() {
	p.transport.CloseIdleConnections()
}

// bufferPool lends ReverseProxy its copy buffers.
type bufferPool struct{ p sync.Pool }

const proxyBufferSize = 32 << 10

func (bp *bufferPool) Get() []byte {
	if b, ok := bp.p.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, proxyBufferSize)
}

func (bp *bufferPool) Put(b []byte) {
	if cap(b) == proxyBufferSize {
		b = b[:proxyBufferSize]
		bp.p.Put(&b)
	}
}

// plainError answers status with its text, for refusals that are not about
// the token (RFC 6750 challenges are written by the middleware).
func plainError(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(http.StatusText(status) + "\n"))
}
