//go:build interop && unix

package interop

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/validator"
)

// rsOptions varies the resource server between tests; the zero value is the
// usual configuration.
type rsOptions struct {
	// discovery, when set, makes the JWT validator use a key set of the
	// test's own that reads this metadata document. Nil: the validator
	// creates its key set itself (OpenID Connect discovery, then RFC 8414),
	// as a user's configuration with only Issuer and Audiences does.
	discovery *jwks.Discovery
	// introspectionAudiences, when set, are required in introspection
	// answers. oidc-provider puts aud in them only for tokens issued for a
	// resource, so the usual configuration does without
	// (introspect.Config.InsecureAnyAudience).
	introspectionAudiences []string
}

// resourceServer is an API protected by tollgate, the way a user would
// assemble it: the middleware in front of a hybrid validator that sends the
// issuer's JWTs to the JWT validator (keys found by discovery, results
// cached) and every other token to the introspection client (endpoint found
// by discovery, answers cached).
type resourceServer struct {
	url    string
	clock  *clock
	client *http.Client // the API's client

	mu       sync.Mutex
	rejected []*tollgate.Error // what the middleware reported, in order
}

// newResourceServer builds a resource server for the tokens of as and
// closes it when the test ends. Its routes: GET /read needs scope read,
// GET /write scope write; both answer the principal as JSON (see
// principalJSON).
func newResourceServer(t *testing.T, as *authServer, opts rsOptions) *resourceServer {
	t.Helper()
	rs := &resourceServer{
		clock:  &clock{},
		client: &http.Client{Transport: &http.Transport{}, Timeout: httpTimeout},
	}
	t.Cleanup(rs.client.CloseIdleConnections)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	closeLater := func(c interface{ Close() error }) {
		t.Cleanup(func() {
			if err := c.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	ctx, cancel := context.WithTimeout(t.Context(), httpTimeout)
	defer cancel()

	iss := validator.Issuer{
		Issuer:         as.Issuer,
		Audiences:      []string{audience},
		Algorithms:     algorithms,
		RequiredClaims: []string{"client_id", "iat", "jti"},
	}
	if opts.discovery != nil {
		keys, err := jwks.New(jwks.Config{
			Issuer:    as.Issuer,
			Discovery: *opts.discovery,
			Now:       rs.clock.Now,
			Logger:    logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		closeLater(keys)
		if err := keys.Start(ctx); err != nil {
			t.Fatalf("jwks: first fetch: %v", err)
		}
		iss.Keys = keys
	}
	jwtValidator, err := validator.New(validator.Config{
		Issuers: []validator.Issuer{iss},
		Now:     rs.clock.Now,
		Logger:  logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	closeLater(jwtValidator)
	if err := jwtValidator.Start(ctx); err != nil {
		t.Fatalf("validator: first key fetch: %v", err)
	}

	introspection, err := introspect.New(introspect.Config{
		Issuer:       as.Issuer,
		ClientID:     introspector,
		ClientSecret: introspect.Secret(as.secrets[introspector]),
		Audiences:    opts.introspectionAudiences,
		// oidc-provider names no audience for a token issued without a
		// resource: scopes alone keep such tokens apart.
		InsecureAnyAudience: len(opts.introspectionAudiences) == 0,
		Now:                 rs.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	closeLater(introspection)

	hybrid, err := tollgate.NewHybrid(tollgate.HybridConfig{
		JWT:           jwtValidator, // its issuers are read from it
		Introspection: introspection,
	})
	if err != nil {
		t.Fatal(err)
	}
	mw, err := middleware.New(hybrid, middleware.Config{
		Realm: "interop",
		Observer: tollgate.Observer{
			OnReject: func(_ context.Context, e tollgate.RejectEvent) {
				rs.mu.Lock()
				defer rs.mu.Unlock()
				rs.rejected = append(rs.rejected, e.Err)
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /read", mw.Handler(middleware.RequireScopes("read")(http.HandlerFunc(servePrincipal))))
	mux.Handle("GET /write", mw.Handler(middleware.RequireScopes("write")(http.HandlerFunc(servePrincipal))))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	rs.url = srv.URL
	return rs
}

// principalJSON is what the resource server's routes answer: the principal
// the handler found in its request's context.
type principalJSON struct {
	Subject   string    `json:"sub"`
	ClientID  string    `json:"client_id"`
	Issuer    string    `json:"iss"`
	Audiences []string  `json:"aud"`
	Scopes    []string  `json:"scopes"`
	Kind      string    `json:"kind"`
	TokenID   string    `json:"jti"`
	ExpiresAt time.Time `json:"exp"`
}

func servePrincipal(w http.ResponseWriter, r *http.Request) {
	p, ok := tollgate.FromContext(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(principalJSON{
		Subject:   p.Subject(),
		ClientID:  p.ClientID(),
		Issuer:    p.Issuer(),
		Audiences: p.Audiences(),
		Scopes:    p.Scopes().Strings(),
		Kind:      p.Kind().String(),
		TokenID:   p.TokenID(),
		ExpiresAt: p.ExpiresAt(),
	})
}

// answer is the resource server's response to one request.
type answer struct {
	status    int
	challenge string // WWW-Authenticate
	retry     string // Retry-After
	principal principalJSON
	// rejection is what the middleware reported for this request (nil if it
	// let the request through).
	rejection *tollgate.Error
}

// call sends GET path with token as a bearer token.
func (rs *resourceServer) call(t *testing.T, path, token string) answer {
	t.Helper()
	rs.mu.Lock()
	seen := len(rs.rejected)
	rs.mu.Unlock()

	ctx, cancel := context.WithTimeout(t.Context(), httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rs.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := rs.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	a := answer{
		status:    resp.StatusCode,
		challenge: resp.Header.Get("WWW-Authenticate"),
		retry:     resp.Header.Get("Retry-After"),
	}
	if a.status == http.StatusOK {
		if err := json.Unmarshal(body, &a.principal); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	switch n := len(rs.rejected) - seen; {
	case n == 1:
		a.rejection = rs.rejected[seen]
	case n > 1:
		t.Fatalf("GET %s: %d rejections reported for one request", path, n)
	}
	return a
}

// wantOK checks that a was a 200 for a principal of client.
func wantOK(t *testing.T, a answer, client string) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d (%v; %s), want 200", a.status, a.rejection, a.challenge)
	}
	if a.rejection != nil {
		t.Errorf("200 with a rejection reported: %v", a.rejection)
	}
	if a.principal.ClientID != client {
		t.Errorf("client_id %q, want %q", a.principal.ClientID, client)
	}
}

// wantRejected checks that a was refused with status, for an error that
// matches kind with check, and a challenge containing the given fragments.
func wantRejected(t *testing.T, a answer, status int, kind error, check string, challenge ...string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d (%v), want %d", a.status, a.rejection, status)
	}
	if a.rejection == nil {
		t.Fatalf("status %d but no rejection reported", a.status)
	}
	if !errors.Is(a.rejection, kind) {
		t.Errorf("rejection %v, want one matching %v", a.rejection, kind)
	}
	var te *tollgate.Error
	if !errors.As(a.rejection, &te) || te.Check != check {
		t.Errorf("rejection %v: check %q, want %q", a.rejection, te.Check, check)
	}
	for _, c := range challenge {
		if !strings.Contains(a.challenge, c) {
			t.Errorf("WWW-Authenticate %q lacks %q", a.challenge, c)
		}
	}
}

// clock is the resource server's clock: real time, moved forward on demand
// so that tests see tokens and cache entries expire without waiting.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// advance moves the clock forward by d.
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }
