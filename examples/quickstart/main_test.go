package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/syncbuf"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestTour runs the README's first command and checks every step's answer,
// so that the quickstart cannot silently rot.
func TestTour(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, false); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`1\. a valid token\n.*\n   -> 200 OK\n      \{"kind":"jwt",.*"scopes":"orders:read","subject":"alice"\}`),
		regexp.MustCompile(`2\. no token\n.*\n   -> 401 Unauthorized\n      WWW-Authenticate: Bearer realm="orders", resource_metadata="http://127\.0\.0\.1:\d+/\.well-known/oauth-protected-resource"\n`),
		regexp.MustCompile(`3\. an expired token\n.*\n   -> 401 Unauthorized\n      WWW-Authenticate: Bearer realm="orders", error="invalid_token", error_description="the access token expired"`),
		regexp.MustCompile(`4\. a token for another API.*\n.*\n   -> 401 Unauthorized\n.*error="invalid_token".*\n      \(server log: .*\(aud\)`),
		regexp.MustCompile(`5\. a token whose signature was tampered with\n.*\n   -> 401 Unauthorized\n.*\n      \(server log: .*\(signature\)`),
		regexp.MustCompile(`6\. .*orders:write\n.*\n   -> 403 Forbidden\n      WWW-Authenticate: Bearer realm="orders", error="insufficient_scope", scope="orders:write", resource_metadata=`),
		regexp.MustCompile(`7\. .*down.*\n.*\n   -> 503 Service Unavailable\n      Retry-After: 5\n`),
		regexp.MustCompile(`8\. an opaque token.*\n.*\n   -> 200 OK\n      \{"kind":"opaque",.*"subject":"svc-reporting"\}\n.*so far: 1\)`),
		regexp.MustCompile(`9\. the same opaque token again.*\n.*\n   -> 200 OK\n.*\n.*so far: 1\)`),
		regexp.MustCompile(`10\. the token is revoked.*\n.*\n   -> 200 OK\n`),
		regexp.MustCompile(`11\. the revoked token once the cache TTL has passed\n.*\n   -> 401 Unauthorized\n.*error="invalid_token".*\n.*\(active\).*\n.*so far: 2\)`),
		regexp.MustCompile(`12\. a new opaque token while the authorization server fails.*\n.*\n   -> 503 Service Unavailable\n      Retry-After: 5\n`),
		regexp.MustCompile(`13\. a JWT while the authorization server fails.*\n.*\n   -> 200 OK\n`),
		regexp.MustCompile(`"resource":"http://127\.0\.0\.1:\d+","authorization_servers":\["http://127\.0\.0\.1:\d+"\]`),
		regexp.MustCompile(`all \d+ steps answered as expected\n$`),
	} {
		if !want.MatchString(got) {
			t.Errorf("output lacks %s", want)
		}
	}
	if strings.Contains(got, "UNEXPECTED") {
		t.Errorf("a step was unexpected:\n%s", got)
	}
	if t.Failed() {
		t.Logf("output:\n%s", got)
	}
}

// TestServePrintsAWorkingCurlCommand runs -serve, sends the request of the
// printed curl line, and stops the servers.
func TestServePrintsAWorkingCurlCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncbuf.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, &out, true) }()

	curl := regexp.MustCompile(`curl -i -H 'Authorization: Bearer ([A-Za-z0-9_.-]+)' (http://127\.0\.0\.1:\d+/orders)\n`)
	deadline := time.Now().Add(30 * time.Second)
	var m []string
	for m == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no curl line within 30s:\n%s", out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("run returned before serving: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond): // polling the output, bounded by the deadline
		}
		m = curl.FindStringSubmatch(out.String())
	}
	req, _ := http.NewRequest(http.MethodGet, m[2], nil)
	req.Header.Set("Authorization", "Bearer "+m[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the printed curl command got %s", resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	http.DefaultClient.CloseIdleConnections()
}
