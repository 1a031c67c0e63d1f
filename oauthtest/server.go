package oauthtest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Endpoint names one of the server's endpoints, for request counters,
// failure injection and extra response headers.
type Endpoint string

// The server's endpoints.
const (
	EndpointOpenIDConfiguration Endpoint = "openid-configuration"       // /.well-known/openid-configuration (OIDC Discovery)
	EndpointServerMetadata      Endpoint = "oauth-authorization-server" // /.well-known/oauth-authorization-server (RFC 8414)
	EndpointJWKS                Endpoint = "jwks"                       // the JWK Set
	EndpointToken               Endpoint = "token"                      // client credentials grant
	EndpointIntrospection       Endpoint = "introspection"              // RFC 7662
	EndpointRevocation          Endpoint = "revocation"                 // RFC 7009
)

// The credentials of the client registered when [Config.Clients] is empty: a
// resource server that may call the introspection endpoint and, with any
// scope, the token endpoint.
const (
	DefaultClientID     = "resource-server"
	DefaultClientSecret = "resource-server-secret"
)

// DefaultAudience is the audience of minted tokens when [Config.Audience] is
// empty.
const DefaultAudience = "https://api.example.test"

// Config configures a [Server]. The zero value serves on loopback, signs with
// a fresh RS256 key, and issues tokens for [DefaultAudience] valid for an hour.
type Config struct {
	// Algorithm is the JWS algorithm of the first signing key (default
	// RS256); see [NewKey] for the choices.
	Algorithm string
	// Audience is the "aud" of minted tokens (default [DefaultAudience]).
	Audience string
	// TokenLifetime is the lifetime of minted tokens (default one hour).
	TokenLifetime time.Duration
	// IssuerPath is appended to the server's URL to form the issuer
	// identifier (for example "/tenants/a"), to exercise the RFC 8414 rule
	// that inserts the well-known segment before the issuer's path.
	IssuerPath string
	// InMemory serves over an in-memory listener instead of a loopback port.
	// Only [Server.Client] can reach the server then. Use it inside a
	// testing/synctest bubble, where goroutines blocked on real sockets are
	// never durably blocked and fake time would not advance.
	InMemory bool
	// OmitKeyAlg publishes keys without the "alg" member, as Auth0 and
	// oidc-provider do.
	OmitKeyAlg bool
	// Clients are the registered clients (default: one with
	// [DefaultClientID] and [DefaultClientSecret]).
	Clients []Client
	// Now is the clock used to mint tokens and judge their expiry (default
	// time.Now, which inside a synctest bubble is the bubble's fake clock).
	Now func() time.Time
	// OnRequest, if set, is called with every request before it is answered,
	// for tests that inspect what a client sent.
	OnRequest func(Endpoint, *http.Request)
}

// Client is a client registered with the server.
type Client struct {
	ID string
	// Secret authenticates the client with client_secret_basic or
	// client_secret_post.
	Secret string
	// Key, if set, authenticates the client with private_key_jwt (RFC 7523):
	// the public key that verifies its assertions.
	Key *Key
	// Scopes limits the scopes the client may ask for at the token endpoint;
	// nil allows any.
	Scopes []string
	// Opaque makes the token endpoint issue opaque tokens to this client
	// instead of JWTs.
	Opaque bool
}

// Failure describes how an endpoint misbehaves; see [Server.Fail].
type Failure struct {
	// Status answers with this status code and a JSON error body.
	Status int
	// Body answers with this body (status 200 unless Status is set), for
	// garbage or hostile documents.
	Body string
	// Hang never answers: the request waits until the client gives up (its
	// context ends) or the server is closed.
	Hang bool
}

// Server is an in-process OAuth 2.0 authorization server for tests. It serves
// discovery documents (OpenID Connect and RFC 8414), a JWK Set, a client
// credentials token endpoint, introspection (RFC 7662) and revocation
// (RFC 7009), mints JWT access tokens (RFC 9068) and opaque tokens with any
// claims, rotates keys, counts requests and fails on demand. Its methods are
// safe for concurrent use.
type Server struct {
	// URL is the base URL of the server, with no trailing slash: a loopback
	// http URL, or for an in-memory server an http URL under ".localhost"
	// that only [Server.Client] reaches.
	URL string

	issuer   string
	cfg      Config
	now      func() time.Time
	hang     chan struct{}
	hangOnce sync.Once
	client   *http.Client
	closeSrv func()
	handlers sync.WaitGroup

	mu       sync.Mutex
	closing  bool   // set by Close; no handler starts after it
	keys     []*Key // published, in order
	signing  *Key
	clients  map[string]Client
	opaque   map[string]map[string]any
	revoked  map[string]bool
	failures map[Endpoint]Failure
	headers  map[Endpoint]http.Header
	counts   map[Endpoint]int
}

// NewServer starts a server with the default [Config]: loopback, RS256. The
// caller must Close it.
func NewServer() *Server { return New(Config{}) }

// New starts a server configured by cfg. The caller must Close it.
func New(cfg Config) *Server {
	if cfg.Algorithm == "" {
		cfg.Algorithm = "RS256"
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.IssuerPath != "" && !strings.HasPrefix(cfg.IssuerPath, "/") {
		cfg.IssuerPath = "/" + cfg.IssuerPath
	}
	cfg.IssuerPath = strings.TrimRight(cfg.IssuerPath, "/")
	if len(cfg.Clients) == 0 {
		cfg.Clients = []Client{{ID: DefaultClientID, Secret: DefaultClientSecret}}
	}
	s := &Server{
		cfg:      cfg,
		now:      cfg.Now,
		hang:     make(chan struct{}),
		clients:  make(map[string]Client),
		opaque:   make(map[string]map[string]any),
		revoked:  make(map[string]bool),
		failures: make(map[Endpoint]Failure),
		headers:  make(map[Endpoint]http.Header),
		counts:   make(map[Endpoint]int),
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, c := range cfg.Clients {
		s.clients[c.ID] = c
	}
	k := NewKey(cfg.Algorithm)
	s.keys, s.signing = []*Key{k}, k

	h := s.routes()
	if cfg.InMemory {
		s.startInMemory(h)
	} else {
		ts := httptest.NewServer(h)
		s.URL, s.client, s.closeSrv = ts.URL, ts.Client(), ts.Close
	}
	s.issuer = s.URL + cfg.IssuerPath
	return s
}

func (s *Server) startInMemory(h http.Handler) {
	var id [4]byte
	_, _ = rand.Read(id[:])
	l := newPipeListener()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
	transport := &http.Transport{
		DialContext:       l.DialContext,
		ForceAttemptHTTP2: false,
	}
	s.URL = "http://as-" + hex.EncodeToString(id[:]) + "." + inMemoryHost
	s.client = &http.Client{Transport: transport}
	s.closeSrv = func() {
		_ = srv.Close()
		<-served
		transport.CloseIdleConnections()
		s.handlers.Wait()
	}
}

// inMemoryHost is the domain of in-memory servers. Names under .localhost are
// loopback names (RFC 6761), which tollgate accepts over plain http.
const inMemoryHost = "oauthtest.localhost"

// Close stops the server. Hanging requests end first, so Close never blocks
// on them; it returns once every request has completed.
func (s *Server) Close() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.hangOnce.Do(func() { close(s.hang) })
	s.closeSrv()
	if t, ok := s.client.Transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// Issuer returns the issuer identifier: URL followed by [Config.IssuerPath].
func (s *Server) Issuer() string { return s.issuer }

// Audience returns the default audience of minted tokens.
func (s *Server) Audience() string { return s.cfg.Audience }

// Client returns an HTTP client that reaches the server. For an in-memory
// server it is the only way in.
func (s *Server) Client() *http.Client { return s.client }

// JWKSURL returns the URL of the JWK Set.
func (s *Server) JWKSURL() string { return s.issuer + "/jwks" }

// OpenIDConfigurationURL returns the URL of the OpenID Connect discovery
// document.
func (s *Server) OpenIDConfigurationURL() string {
	return s.issuer + "/.well-known/openid-configuration"
}

// MetadataURL returns the URL of the RFC 8414 metadata document, with the
// well-known segment inserted before the issuer's path.
func (s *Server) MetadataURL() string {
	return s.URL + "/.well-known/oauth-authorization-server" + s.cfg.IssuerPath
}

// TokenURL returns the URL of the token endpoint.
func (s *Server) TokenURL() string { return s.issuer + "/token" }

// IntrospectionURL returns the URL of the introspection endpoint.
func (s *Server) IntrospectionURL() string { return s.issuer + "/introspect" }

// RevocationURL returns the URL of the revocation endpoint.
func (s *Server) RevocationURL() string { return s.issuer + "/revoke" }

// Requests returns how many requests ep has received, failed ones included.
func (s *Server) Requests(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[ep]
}

// Fail makes ep misbehave as f describes until [Server.Heal].
func (s *Server) Fail(ep Endpoint, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[ep] = f
}

// Heal makes ep answer normally again.
func (s *Server) Heal(ep Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.failures, ep)
}

// SetHeader adds a response header to every answer of ep, for example
// Cache-Control on the JWK Set.
func (s *Server) SetHeader(ep Endpoint, name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.headers[ep] == nil {
		s.headers[ep] = make(http.Header)
	}
	s.headers[ep].Set(name, value)
}

// AddClient registers (or replaces) a client.
func (s *Server) AddClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = c
}

// SigningKey returns the key that signs new tokens.
func (s *Server) SigningKey() *Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signing
}

// RotateKey generates a key with the same algorithm as the current signing
// key (or alg, if given), publishes it and signs new tokens with it. The old
// keys stay published until [Server.RemoveKey].
func (s *Server) RotateKey(alg ...string) *Key {
	a := s.SigningKey().Algorithm()
	if len(alg) > 0 {
		a = alg[0]
	}
	k := NewKey(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
	s.signing = k
	return k
}

// PublishKey adds k to the JWK Set without signing with it.
func (s *Server) PublishKey(k *Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
}

// RemoveKey withdraws the key with ID kid from the JWK Set. Removing the
// signing key is allowed: tokens signed afterwards cannot be verified.
func (s *Server) RemoveKey(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.keys[:0]
	for _, k := range s.keys {
		if k.id != kid {
			kept = append(kept, k)
		}
	}
	s.keys = kept
}

// routes returns the server's handler. Paths are matched after the issuer's
// path, and the RFC 8414 document also at its path-inserted location.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	p := s.cfg.IssuerPath
	mux.Handle("GET "+p+"/.well-known/openid-configuration", s.endpoint(EndpointOpenIDConfiguration, s.serveMetadata))
	mux.Handle("GET /.well-known/oauth-authorization-server"+p, s.endpoint(EndpointServerMetadata, s.serveMetadata))
	mux.Handle("GET "+p+"/jwks", s.endpoint(EndpointJWKS, s.serveJWKS))
	mux.Handle("POST "+p+"/token", s.endpoint(EndpointToken, s.serveToken))
	mux.Handle("POST "+p+"/introspect", s.endpoint(EndpointIntrospection, s.serveIntrospection))
	mux.Handle("POST "+p+"/revoke", s.endpoint(EndpointRevocation, s.serveRevocation))
	return mux
}

// endpoint wraps a handler with counting, extra headers and failure
// injection.
func (s *Server) endpoint(ep Endpoint, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			panic(http.ErrAbortHandler)
		}
		// Under s.mu, so that every Add happens before Close's Wait
		// (sync.WaitGroup's rule; the race detector enforces it).
		s.handlers.Add(1)
		defer s.handlers.Done()
		s.counts[ep]++
		f, failing := s.failures[ep]
		for name, v := range s.headers[ep] {
			w.Header()[name] = v
		}
		s.mu.Unlock()
		if s.cfg.OnRequest != nil {
			s.cfg.OnRequest(ep, r)
		}
		if !failing {
			h(w, r)
			return
		}
		switch {
		case f.Hang:
			select {
			case <-r.Context().Done():
			case <-s.hang:
			}
			// Drop the connection without an answer, as a server that goes
			// away does; a 200 with an empty body would be a lie.
			panic(http.ErrAbortHandler)
		case f.Body != "":
			status := f.Status
			if status == 0 {
				status = http.StatusOK
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(f.Body))
		default:
			writeError(w, f.Status, "server_error", "injected failure")
		}
	})
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}
