package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate/tollgate/oauthtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for the server's log writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is a tollgate server started in-process by runWith, as the binary
// would run it.
type server struct {
	addr, ops string
	logs      *syncBuffer
	cancel    context.CancelFunc
	done      chan struct{} // closed when run has returned
	err       error         // run's error, once done is closed
	client    *http.Client
}

// base is the URL of the proxy or forward-auth listener.
func (s *server) base() string { return "http://" + s.addr }

// stop ends the server as SIGTERM would and returns run's error.
func (s *server) stop() error {
	s.cancel()
	<-s.done
	return s.err
}

// writeConfig writes a configuration file and returns its path.
func writeConfig(t testing.TB, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tollgate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startServer runs `tollgate <cmd> -config` with yaml until the test ends.
func startServer(t testing.TB, cmd, yaml string) *server {
	t.Helper()
	path := writeConfig(t, yaml)
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{logs: &syncBuffer{}, cancel: cancel, done: make(chan struct{})}
	ready := make(chan listening, 1)
	go func() {
		defer close(s.done)
		s.err = runWith(ctx, []string{cmd, "-config", path}, io.Discard, s.logs, func(l listening) { ready <- l })
	}()
	select {
	case l := <-ready:
		s.addr, s.ops = l.Addr, l.Ops
	case <-s.done:
		cancel()
		t.Fatalf("tollgate %s did not start: %v\n%s", cmd, s.err, s.logs.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("tollgate %s did not start in time\n%s", cmd, s.logs.String())
	}
	s.client = &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(func() {
		s.client.CloseIdleConnections()
		if err := s.stop(); err != nil {
			t.Errorf("tollgate %s: %v", cmd, err)
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", s.logs.String())
		}
	})
	return s
}

// do sends a request to the server.
func (s *server) do(t testing.TB, method, target string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.base()+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return send(t, s.client, req)
}

// rawGet sends a GET whose request line carries target exactly as written
// (no client cleaning of "..", "//" or escapes), on a connection of its own.
func (s *server) rawGet(t testing.TB, target string, header http.Header) (*http.Response, string) {
	t.Helper()
	return s.rawRequest(t, http.MethodGet, target, header)
}

// rawRequest is rawGet for any method.
func (s *server) rawRequest(t testing.TB, method, target string, header http.Header) (*http.Response, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, s.addr)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func send(t testing.TB, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// opsGet fetches a path of the operations listener.
func (s *server) opsGet(t testing.TB, path string) (int, string) {
	t.Helper()
	res, body := send(t, s.client, mustRequest(t, http.MethodGet, "http://"+s.ops+path))
	return res.StatusCode, body
}

func mustRequest(t testing.TB, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// upstream is a real HTTP server behind the proxy that records what it
// received.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	last *http.Request
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.last = r.Clone(context.Background())
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "upstream %s %s", r.Method, r.URL.EscapedPath())
	}))
	t.Cleanup(u.Close)
	return u
}

// received returns the last request the upstream received.
func (u *upstream) received(t testing.TB) *http.Request {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.last == nil {
		t.Fatal("the upstream received no request")
	}
	r := u.last
	u.last = nil
	return r
}

// newAS starts a loopback authorization server whose tokens are for the
// audience of the test configurations.
func newAS(t testing.TB) *oauthtest.Server {
	as := oauthtest.New(oauthtest.Config{Audience: testAudience})
	t.Cleanup(as.Close)
	return as
}

const testAudience = "https://api.example.test"

// proxyConfig returns a proxy configuration for issuer and upstream; extra
// is appended (top-level YAML).
func proxyYAML(issuer, upstreamURL, extra string) string {
	return fmt.Sprintf(`
issuers:
  - issuer: %s
    audiences: [%s]
    jwks:
      min_refetch_interval: 50ms
      min_refresh_interval: 1m
realm: orders
resource:
  identifier: http://127.0.0.1:8080
rules:
  - match: GET /orders
    scopes: [orders:read]
  - match: GET /orders/{id}
    scopes: [orders:read]
  - match: POST /orders
    scopes: [orders:write]
  - match: /public/
    anonymous: true
  - match: /public/secret/
    deny: true
  - match: DELETE /orders/{id}
    any_scope: [orders:admin, admin]
proxy:
  listen: 127.0.0.1:0
  upstream: %s
ops:
  listen: 127.0.0.1:0
log:
  level: debug
%s`, issuer, testAudience, upstreamURL, extra)
}

// assertNoToken fails if text contains token or its signature.
func assertNoToken(t testing.TB, text, token string) {
	t.Helper()
	sig := token[strings.LastIndexByte(token, '.')+1:]
	if strings.Contains(text, token) || strings.Contains(text, sig) {
		t.Errorf("the token (or its signature) appears in:\n%s", text)
	}
}

// variantRulesYAML are the rules of the path-variant tests, as YAML: a
// catch-all next to stricter rules (the review's reproduction) and two rules
// that only a trailing slash tells apart.
const variantRulesYAML = `rules:
  - match: /
  - match: /admin/
    scopes: [admin]
  - match: DELETE /orders/{id}
    any_scope: [orders:admin, admin]
  - match: GET /orders/{id}
    scopes: [orders:read]
  - match: GET /reports/{id}
    scopes: [reports:read]
  - match: GET /reports/{id}/
    scopes: [reports:export]
`

// withRules replaces the rules of a configuration made by proxyYAML.
func withRules(t testing.TB, yaml, rules string) string {
	t.Helper()
	i := strings.Index(yaml, "\nrules:\n")
	j := strings.Index(yaml, "\nproxy:\n")
	if i < 0 || j < i {
		t.Fatal("the configuration has no rules section followed by proxy")
	}
	return yaml[:i+1] + rules + yaml[j+1:]
}
