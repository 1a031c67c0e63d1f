//go:build interop && unix

package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The clients that server.mjs registers (see CLIENTS there).
const (
	basicClient  = "basic-client" // client_secret_basic, scopes read write
	postClient   = "post-client"  // client_secret_post, scopes read write
	readClient   = "read-client"  // client_secret_basic, scope read only
	introspector = "tollgate-rs"  // the resource server's own client
)

// The resources that server.mjs knows (see RESOURCES there).
const (
	audience      = "https://api.tollgate.test"
	otherResource = "https://other.tollgate.test" // a JWT whose aud is not ours
	shortResource = audience + "/short"           // ES256, expires after 1 s
	opaqueWithAud = audience + "/opaque"          // opaque, introspection returns aud
)

// resourceFor returns the resource indicator whose JWTs are signed with alg.
func resourceFor(alg string) string { return audience + "/" + strings.ToLower(alg) }

// algorithms are the signing algorithms server.mjs has a key for.
var algorithms = []string{"RS256", "PS256", "ES256", "EdDSA"}

const (
	startTimeout = 20 * time.Second // key generation and npm's module loading
	stopTimeout  = 5 * time.Second
	httpTimeout  = 10 * time.Second
	maxBody      = 1 << 20
)

// authServer is one running server.mjs: a real oidc-provider on 127.0.0.1.
type authServer struct {
	Issuer string
	Port   int
	// Kids maps each algorithm to the key ID that signs with it now.
	Kids map[string]string

	secrets    map[string]string
	adminToken string

	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd.Wait returned
	waitErr  error         // cmd.Wait's result, read after exited is closed
	output   *syncBuffer   // stderr and what stdout printed after readiness
	stopOnce sync.Once
	stopErr  error
	stdin    io.WriteCloser
	client   *http.Client
}

type readiness struct {
	Ready  bool              `json:"ready"`
	Port   int               `json:"port"`
	Issuer string            `json:"issuer"`
	Kids   map[string]string `json:"kids"`
}

// startAS starts a server of the test's own, stopped when the test ends.
// Tests that change the server (rotate its keys, stop it) use one; the
// others share [shared].
func startAS(t *testing.T) *authServer {
	t.Helper()
	as, err := launchAS()
	if as != nil {
		t.Cleanup(func() {
			if err := as.stop(); err != nil {
				t.Errorf("stopping the authorization server: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// launchAS starts server.mjs and waits until it listens. If it returns a
// non-nil server, the caller must stop it (process group SIGTERM, then
// SIGKILL), even when err is not nil.
func launchAS() (*authServer, error) {
	as := &authServer{
		secrets: map[string]string{
			basicClient:  randomString(),
			postClient:   randomString(),
			readClient:   randomString(),
			introspector: randomString(),
		},
		adminToken: randomString(),
		exited:     make(chan struct{}),
		output:     &syncBuffer{},
		client:     &http.Client{Timeout: httpTimeout},
	}
	secrets, err := json.Marshal(as.secrets)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(nodeBinary, "server.mjs")
	cmd.Env = append(os.Environ(),
		"INTEROP_PORT=0",
		"INTEROP_SECRETS="+string(secrets),
		"INTEROP_ADMIN_TOKEN="+as.adminToken,
		// If this test process dies before its cleanup ran, the pipe closes
		// and the server stops by itself.
		"INTEROP_STDIN_EOF=stop",
	)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Stderr = as.output
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if as.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s server.mjs: %w", nodeBinary, err)
	}
	as.cmd = cmd

	ready := make(chan readiness, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				first = false
				var r readiness
				if json.Unmarshal(sc.Bytes(), &r) == nil && r.Ready {
					ready <- r
					continue
				}
			}
			_, _ = as.output.Write(append(sc.Bytes(), '\n'))
		}
		// Drain what is left, so that the server never blocks writing and
		// Wait may close the pipe.
		_, _ = io.Copy(as.output, stdout)
		as.waitErr = cmd.Wait()
		close(as.exited)
	}()

	timeout := time.NewTimer(startTimeout)
	defer timeout.Stop()
	select {
	case r := <-ready:
		as.Issuer, as.Port, as.Kids = r.Issuer, r.Port, r.Kids
	case <-as.exited:
		return as, fmt.Errorf("the authorization server exited before it was ready (%v); its output:\n%s", as.waitErr, as.output)
	case <-timeout.C:
		return as, fmt.Errorf("the authorization server was not ready after %v; its output:\n%s", startTimeout, as.output)
	}
	if want := "http://127.0.0.1:" + strconv.Itoa(as.Port); as.Issuer != want {
		return as, fmt.Errorf("issuer %q, want %q", as.Issuer, want)
	}
	for _, alg := range algorithms {
		if as.Kids[alg] == "" {
			return as, fmt.Errorf("the server announced no key for %s: %v", alg, as.Kids)
		}
	}
	return as, nil
}

// stop ends the server and its process group: SIGTERM, then SIGKILL if it
// has not exited after stopTimeout. It returns an error if the server did not
// stop cleanly on SIGTERM or if a process of its group survived. It is
// idempotent.
func (as *authServer) stop() error {
	as.stopOnce.Do(func() { as.stopErr = as.doStop() })
	return as.stopErr
}

func (as *authServer) doStop() error {
	pgid := as.cmd.Process.Pid // Setpgid: the group ID is the leader's PID
	var errs []error
	select {
	case <-as.exited:
		errs = append(errs, fmt.Errorf("the server had already exited: %v; its output:\n%s", as.waitErr, as.output))
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-as.exited:
			if as.waitErr != nil {
				errs = append(errs, fmt.Errorf("the server did not exit cleanly on SIGTERM: %v; its output:\n%s", as.waitErr, as.output))
			}
		case <-time.After(stopTimeout):
			errs = append(errs, fmt.Errorf("the server ignored SIGTERM for %v; killed", stopTimeout))
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-as.exited
		}
	}
	_ = as.stdin.Close()
	as.client.CloseIdleConnections()
	// Anything left in the group (there should be nothing) is killed and
	// reported.
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		errs = append(errs, fmt.Errorf("a process of group %d survived the server", pgid))
	}
	return errors.Join(errs...)
}

// url returns the server's URL for path.
func (as *authServer) url(path string) string { return as.Issuer + path }

// tokenResponse is a successful answer of the token endpoint (RFC 6749
// section 5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// authMethod is how a client authenticates at the token endpoint.
type authMethod int

const (
	secretBasic authMethod = iota // client_secret_basic (RFC 6749 section 2.3.1)
	secretPost                    // client_secret_post
)

// authMethodOf returns how client is registered to authenticate.
func authMethodOf(client string) authMethod {
	if client == postClient {
		return secretPost
	}
	return secretBasic
}

// token gets an access token for client with the client credentials grant,
// as a real client would. resource may be empty (an opaque token).
func (as *authServer) token(t *testing.T, client, scope, resource string) tokenResponse {
	t.Helper()
	status, body := as.requestToken(t, client, scope, resource)
	if status != http.StatusOK {
		t.Fatalf("token endpoint: status %d: %s", status, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("token endpoint: %v", err)
	}
	if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "Bearer") {
		t.Fatalf("token endpoint: no bearer token in the answer (token_type %q)", tr.TokenType)
	}
	return tr
}

// requestToken posts a client credentials request and returns the status
// and the body.
func (as *authServer) requestToken(t *testing.T, client, scope, resource string) (int, []byte) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	if resource != "" {
		form.Set("resource", resource)
	}
	return as.post(t, "/token", client, authMethodOf(client), form)
}

// revoke revokes token at the revocation endpoint (RFC 7009) as client.
func (as *authServer) revoke(t *testing.T, client, token string) {
	t.Helper()
	status, body := as.post(t, "/token/revocation", client, authMethodOf(client), url.Values{
		"token": {token}, "token_type_hint": {"access_token"},
	})
	if status != http.StatusOK {
		t.Fatalf("revocation endpoint: status %d: %s", status, body)
	}
}

// introspect asks the introspection endpoint about token as the resource
// server's client, bypassing tollgate, to see what the server itself thinks.
func (as *authServer) introspect(t *testing.T, token string) map[string]any {
	t.Helper()
	status, body := as.post(t, "/token/introspection", introspector, secretBasic, url.Values{"token": {token}})
	if status != http.StatusOK {
		t.Fatalf("introspection endpoint: status %d: %s", status, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("introspection endpoint: %v", err)
	}
	return m
}

// rotate makes the server sign with new keys from now on, keeping the old
// ones published, and returns the new key IDs by algorithm.
func (as *authServer) rotate(t *testing.T) map[string]string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, as.url("/admin/rotate"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+as.adminToken)
	status, body := as.do(t, req)
	if status != http.StatusOK {
		t.Fatalf("rotate: status %d: %s", status, body)
	}
	var r struct {
		Kids map[string]string `json:"kids"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	as.Kids = r.Kids
	return r.Kids
}

// post sends form to path, authenticated as client with method.
func (as *authServer) post(t *testing.T, path, client string, method authMethod, form url.Values) (int, []byte) {
	t.Helper()
	secret := as.secrets[client]
	if method == secretPost {
		form.Set("client_id", client)
		form.Set("client_secret", secret)
	}
	req, err := http.NewRequest(http.MethodPost, as.url(path), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if method == secretBasic {
		// RFC 6749 section 2.3.1: both parts are form-encoded first.
		req.SetBasicAuth(url.QueryEscape(client), url.QueryEscape(secret))
	}
	return as.do(t, req)
}

// get fetches path without authentication.
func (as *authServer) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, as.url(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	return as.do(t, req)
}

func (as *authServer) do(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), httpTimeout)
	defer cancel()
	resp, err := as.client.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	return resp.StatusCode, body
}

// jwtParts decodes a compact JWS's header and claims without verifying it,
// to check what the authorization server issued.
func jwtParts(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("JWS part %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("JWS part %d: %v", i, err)
		}
	}
	return header, claims
}

// randomString returns a fresh secret (128 random bits).
func randomString() string { return rand.Text() }

// syncBuffer collects a child's output for failure messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > maxBody { // bounded: keep the start, drop the rest
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
