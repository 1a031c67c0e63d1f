package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// introspectionTTL is how long the API trusts an introspection answer.
const introspectionTTL = 2 * time.Second

// env is the running demo: two authorization servers (one of them down) and
// the protected API.
type env struct {
	out      io.Writer
	as       *oauthtest.Server // the authorization server the API trusts
	partner  *oauthtest.Server // a second trusted issuer, down from the start
	api      *http.Server
	apiURL   string // also the API's resource identifier (the tokens' audience)
	prmURL   string
	v        *validator.Validator
	intro    *introspect.Client
	client   *http.Client
	steps    int
	partnerT string // a token from the partner, minted before it went down
	closers  []func()

	mu         sync.Mutex
	lastReject *tollgate.Error // what the API's log would say of the last rejection
}

// start brings up the authorization servers and the API.
func start(ctx context.Context, out io.Writer) (*env, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &env{out: out, apiURL: "http://" + ln.Addr().String(), client: &http.Client{Timeout: 10 * time.Second}}
	e.closers = append(e.closers, func() { ln.Close() })

	e.as = oauthtest.New(oauthtest.Config{Audience: e.apiURL})
	e.closers = append(e.closers, e.as.Close)
	// The partner's keys are never loaded: it goes down before the API starts.
	e.partner = oauthtest.New(oauthtest.Config{Audience: e.apiURL, Algorithm: "ES256"})
	e.partnerT = e.partner.JWT(oauthtest.TokenOptions{Subject: "bob", Scopes: []string{"orders:read"}})
	e.partner.Close()

	e.v, err = validator.New(validator.Config{
		Issuers: []validator.Issuer{
			{Issuer: e.as.Issuer(), Audiences: []string{e.apiURL}},
			{Issuer: e.partner.Issuer(), Audiences: []string{e.apiURL}},
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		e.close()
		return nil, err
	}
	e.closers = append(e.closers, func() { e.v.Close() })
	startErr := e.v.Start(ctx)

	// Opaque tokens are validated by RFC 7662 introspection, with answers
	// cached for introspectionTTL (2 minutes by default: the revocation
	// latency; short here so the tour can show a revocation taking effect).
	e.intro, err = introspect.New(introspect.Config{
		Issuer:       e.as.Issuer(),
		ClientID:     oauthtest.DefaultClientID,
		ClientSecret: oauthtest.DefaultClientSecret,
		Audiences:    []string{e.apiURL},
		Cache:        cache.Config{MaxTTL: introspectionTTL},
		Logger:       slog.New(slog.DiscardHandler), // the tour prints what the log would say
	})
	if err != nil {
		e.close()
		return nil, err
	}
	e.closers = append(e.closers, func() { e.intro.Close() })
	// JWTs of the trusted issuers are validated locally (never sent to the
	// authorization server), every other token by introspection.
	hybrid, err := tollgate.NewHybrid(tollgate.HybridConfig{JWT: e.v, Introspection: e.intro})
	if err != nil {
		e.close()
		return nil, err
	}

	prm, err := middleware.NewMetadataHandler(middleware.ResourceMetadata{
		Resource:             e.apiURL,
		AuthorizationServers: []string{e.as.Issuer()},
		ScopesSupported:      []string{"orders:read", "orders:write"},
		ResourceName:         "tollgate quickstart orders API",
	})
	if err != nil {
		e.close()
		return nil, err
	}
	e.prmURL = prm.URL()
	mw, err := middleware.New(hybrid, middleware.Config{
		Realm:               "orders",
		ResourceMetadataURL: prm.URL(),
		// What a server would log (see tollgate.NewLogObserver); the tour
		// prints it next to each rejection. Clients only see the challenge.
		Observer: tollgate.Observer{OnReject: func(_ context.Context, ev tollgate.RejectEvent) {
			e.mu.Lock()
			e.lastReject = ev.Err
			e.mu.Unlock()
		}},
	})
	if err != nil {
		e.close()
		return nil, err
	}

	mux := http.NewServeMux()
	for _, p := range prm.Paths() {
		mux.Handle("GET "+p, prm)
	}
	mux.Handle("GET /orders", mw.Handler(middleware.RequireScopes("orders:read")(http.HandlerFunc(listOrders))))
	mux.Handle("POST /orders", mw.Handler(middleware.RequireScopes("orders:write")(http.HandlerFunc(createOrder))))

	e.api = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := e.api.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(out, "api:", err)
		}
	}()
	e.closers = append(e.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.api.Shutdown(sctx)
		<-served
	})
	fmt.Fprintf(out, "authorization server  %s\nprotected API         %s  (GET /orders needs orders:read, POST /orders needs orders:write)\n",
		e.as.Issuer(), e.apiURL)
	if startErr != nil {
		fmt.Fprintf(out, "the API also trusts a partner authorization server, which is down: its keys could not be loaded, the API started anyway\n")
	}
	return e, nil
}

func (e *env) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// listOrders is an ordinary handler: the middleware has already validated
// the token, so it reads the principal from the context.
func listOrders(w http.ResponseWriter, r *http.Request) {
	p, _ := tollgate.FromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"subject": p.Subject(),
		"scopes":  p.Scopes().String(),
		"kind":    p.Kind().String(),
		"orders":  []string{"#1001", "#1002"},
	})
}

func createOrder(w http.ResponseWriter, r *http.Request) {
	p, _ := tollgate.FromContext(r.Context())
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, "order created for %s\n", p.Subject())
}
