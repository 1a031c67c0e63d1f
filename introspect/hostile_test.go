package introspect_test

// Hostile introspection endpoints (or whoever sits on the path to them):
// answers that bend the type of "active", trickle, stall, flood, or hold
// every slot. Each test fails if the defence it names is removed, and none
// lets a token through that must be refused or a call run past its timeout.
// Refused credentials, redirects and a hanging server have their tests in
// client_test.go (TestCredentialsRefused, TestNoRedirects, TestUnavailable).

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/internal/rawhttp"
	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/oauthtest"
)

// TestHostileActive: only the JSON literal true is active. An answer whose
// "active" is a string, a number, null, an array, spelled in another case or
// given twice is refused as an invalid token (and cached as such), through
// the whole client with its cache; an answer that is not one JSON object is
// ErrUnavailable. The twin answers true.
func TestHostileActive(t *testing.T) {
	as := newAS(oauthtest.Config{})
	defer as.Close()
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	for _, tc := range []struct {
		name  string
		body  string
		kind  error // nil: accepted
		check string
	}{
		{"true (twin)", `{"active":true,"sub":"alice","aud":"` + as.Audience() + `","exp":` + exp + `}`, nil, ""},
		{"string true", `{"active":"true","sub":"alice"}`, tollgate.ErrInvalidToken, "active"},
		{"number 1", `{"active":1,"sub":"alice"}`, tollgate.ErrInvalidToken, "active"},
		{"string 1", `{"active":"1","sub":"alice"}`, tollgate.ErrInvalidToken, "active"},
		{"null", `{"active":null,"sub":"alice"}`, tollgate.ErrInvalidToken, "active"},
		{"array", `{"active":[true],"sub":"alice"}`, tollgate.ErrInvalidToken, "active"},
		{"object", `{"active":{"value":true},"sub":"alice"}`, tollgate.ErrInvalidToken, "active"},
		{"missing", `{"sub":"alice"}`, tollgate.ErrInvalidToken, "active"},
		{"other case", `{"Active":true,"sub":"alice"}`, tollgate.ErrInvalidToken, "active"},
		{"false then true", `{"active":false,"active":true}`, tollgate.ErrInvalidToken, "claims"},
		{"escaped duplicate", `{"active":false,"\u0061ctive":true}`, tollgate.ErrInvalidToken, "claims"},
		{"active but expired", `{"active":true,"exp":1}`, tollgate.ErrExpired, "exp"},
		{"active DPoP token", `{"active":true,"token_type":"DPoP"}`, tollgate.ErrInvalidToken, "token_type"},
		{"two objects", `{"active":true}{"active":true}`, tollgate.ErrUnavailable, "introspection"},
		{"true outside an object", `true`, tollgate.ErrUnavailable, "introspection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as.Fail(oauthtest.EndpointIntrospection, oauthtest.Failure{Body: tc.body})
			defer as.Heal(oauthtest.EndpointIntrospection)
			c := newClient(t, cached(as))
			token := as.Opaque(oauthtest.TokenOptions{})
			for range 2 { // the second answer comes from the cache, or not, but is the same
				p, err := c.Validate(context.Background(), token)
				if tc.kind == nil {
					if err != nil || p.Subject() != "alice" {
						t.Fatalf("Validate = %v, %v", p, err)
					}
					continue
				}
				if p != nil {
					t.Fatal("a principal for a token the server did not call active")
				}
				wantErr(t, err, tc.kind, tc.check)
			}
		})
	}
}

// rawConfig is a client of rs with the defaults (Timeout, limits, cache).
// rawAudience is the audience of rawConfig, which active answers name.
const rawAudience = "https://api.example"

func rawConfig(rs *rawhttp.Server) introspect.Config {
	return introspect.Config{
		Endpoint:     "http://as.oauthtest.localhost/introspect",
		Audiences:    []string{rawAudience},
		ClientID:     oauthtest.DefaultClientID,
		ClientSecret: oauthtest.DefaultClientSecret,
		HTTPClient:   rs.Client(),
	}
}

// TestHostileSlowAnswers: an endpoint that trickles its headers or its
// answer, or stalls part way, cannot hold a call past Config.Timeout (here
// its default): the call fails at that instant with ErrUnavailable. The
// twins send the same answer at once, or trickled to end just within the
// timeout.
func TestHostileSlowAnswers(t *testing.T) {
	const timeout = introspect.DefaultTimeout
	for _, tc := range rawhttp.SlowAnswers(timeout) {
		t.Run(tc.Name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				body := `{"active":true,"sub":"alice","aud":"` + rawAudience + `","exp":` + strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10) + `}`
				rs := rawhttp.New(t, func(w net.Conn, _ *http.Request) { tc.Serve(w, body) })
				c := newClient(t, rawConfig(rs))
				start := time.Now()
				p, err := c.Validate(context.Background(), "opaque-token")
				if tc.OK {
					if err != nil || p.Subject() != "alice" || time.Since(start) >= timeout {
						t.Fatalf("Validate = %v after %v", err, time.Since(start))
					}
					return
				}
				wantErr(t, err, tollgate.ErrUnavailable, "introspection")
				if time.Since(start) != timeout {
					t.Fatalf("gave up after %v; want the %v timeout", time.Since(start), timeout)
				}
			})
		})
	}
}

// TestHostileFloods: an endpoint that answers without end, announces more
// than MaxResponseBytes, or sends a gzip bomb is cut off at the limit
// without waiting: ErrUnavailable at once, having read at most the limit
// (plus what the pipe and the transport's buffer hold). Error pages - our
// credentials refused included - are drained only a little. The flood stops
// at 16 MiB, so that without the limit the test fails instead of hanging.
func TestHostileFloods(t *testing.T) {
	const (
		floodSize = 16 << 20
		slack     = 64 << 10
	)
	for _, tc := range []struct {
		name    string
		serve   func(w net.Conn)
		maxRead int64
	}{
		{"endless answer", func(w net.Conn) {
			rawhttp.Flood(w, rawhttp.Head(200, -1)+`{"active":true,"x":"`, floodSize)
		}, introspect.DefaultMaxResponseBytes + slack},
		{"huge Content-Length announced", func(w net.Conn) {
			rawhttp.Flood(w, rawhttp.Head(200, 1<<30)+`{"active":true,"x":"`, floodSize)
		}, slack},
		{"gzip bomb", func(w net.Conn) {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			_, _ = zw.Write([]byte(`{"active":true,"x":"`))
			_, _ = zw.Write(bytes.Repeat([]byte("a"), floodSize))
			_, _ = zw.Write([]byte(`"}`))
			_ = zw.Close()
			h := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", z.Len())
			_, _ = w.Write(append([]byte(h), z.Bytes()...))
		}, slack},
		{"endless error page", func(w net.Conn) { rawhttp.Flood(w, rawhttp.Head(500, -1), floodSize) }, slack},
		{"endless 401 page", func(w net.Conn) { rawhttp.Flood(w, rawhttp.Head(401, -1), floodSize) }, slack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rs := rawhttp.New(t, func(w net.Conn, _ *http.Request) { tc.serve(w) })
				c := newClient(t, rawConfig(rs))
				start := time.Now()
				_, err := c.Validate(context.Background(), "opaque-token")
				wantErr(t, err, tollgate.ErrUnavailable, "introspection")
				if time.Since(start) != 0 {
					t.Fatalf("the call took %v: it waited for the flood", time.Since(start))
				}
				_ = c.Close()
				if n := rs.Written(); n > tc.maxRead {
					t.Fatalf("the server wrote %d bytes into the call; at most %d may be read", n, tc.maxRead)
				}
			})
		})
	}
}

// TestHostileAnswerSizeLimit: an active answer of exactly
// DefaultMaxResponseBytes is read; one byte more is ErrUnavailable.
func TestHostileAnswerSizeLimit(t *testing.T) {
	as := newAS(oauthtest.Config{})
	defer as.Close()
	for _, tc := range []struct {
		name string
		size int
		ok   bool
	}{
		{"at the limit", introspect.DefaultMaxResponseBytes, true},
		{"one byte past", introspect.DefaultMaxResponseBytes + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"active":true,"sub":"alice","aud":"` + as.Audience() + `"}`
			body = body[:len(body)-1] + strings.Repeat(" ", tc.size-len(body)) + "}"
			as.Fail(oauthtest.EndpointIntrospection, oauthtest.Failure{Body: body})
			defer as.Heal(oauthtest.EndpointIntrospection)
			c := newClient(t, config(as))
			p, err := c.Validate(context.Background(), as.Opaque(oauthtest.TokenOptions{}))
			if tc.ok {
				if err != nil || p.Subject() != "alice" {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			wantErr(t, err, tollgate.ErrUnavailable, "introspection")
		})
	}
}

// TestHostileConcurrencyAtDefaultLimit: a hanging endpoint holds at most
// DefaultMaxConcurrent calls. At the limit every call is sent; one past it
// waits for a slot, which frees when the first calls time out, and is then
// bounded by its own Timeout: nothing runs past twice the Timeout.
func TestHostileConcurrencyAtDefaultLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := newAS(oauthtest.Config{InMemory: true})
		defer as.Close()
		as.Fail(oauthtest.EndpointIntrospection, oauthtest.Failure{Hang: true})
		c := newClient(t, cached(as))
		const n = introspect.DefaultMaxConcurrent + 1
		took := make([]time.Duration, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			token := as.Opaque(oauthtest.TokenOptions{})
			if i == n-1 {
				// One past the limit comes a second later, so the slot it
				// waits for frees (at Timeout) before its own wait for a
				// slot, also bounded by Timeout, runs out.
				time.Sleep(time.Second)
			}
			wg.Go(func() {
				_, errs[i] = c.Validate(context.Background(), token)
				took[i] = time.Since(start)
			})
			synctest.Wait() // in order: the last one is the one past the limit
		}
		if got := as.Requests(oauthtest.EndpointIntrospection); got != introspect.DefaultMaxConcurrent {
			t.Fatalf("%d calls in flight; want the limit, %d", got, introspect.DefaultMaxConcurrent)
		}
		wg.Wait()
		for i := range n {
			want := introspect.DefaultTimeout
			if i == n-1 {
				want = 2 * introspect.DefaultTimeout // a slot, then its own call
			}
			if took[i] != want {
				t.Errorf("call %d ended after %v, want %v", i, took[i], want)
			}
			if !errors.Is(errs[i], tollgate.ErrUnavailable) {
				t.Errorf("call %d: %v", i, errs[i])
			}
		}
		if got := as.Requests(oauthtest.EndpointIntrospection); got != n {
			t.Fatalf("%d calls in all, want %d", got, n)
		}
	})
}

// TestSlotWaitIsBoundedWithoutADeadline: with the cache off and request
// contexts without deadline, a call that keeps losing the race for a free slot
// gives up after Timeout instead of waiting behind every other caller.
func TestSlotWaitIsBoundedWithoutADeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := newAS(oauthtest.Config{InMemory: true})
		defer as.Close()
		as.Fail(oauthtest.EndpointIntrospection, oauthtest.Failure{Hang: true})
		cfg := config(as)
		cfg.DisableCache = true
		cfg.MaxConcurrent = 1
		cfg.Timeout = time.Hour // each call holds the only slot for an hour
		c := newClient(t, cfg)
		start := time.Now()
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = c.Validate(context.Background(), as.Opaque(oauthtest.TokenOptions{})) }) // holds [0, 1h)
		synctest.Wait()
		time.Sleep(30 * time.Minute)
		ended := make(chan time.Duration, 2)
		for range 2 { // both wait from 30m; at 1h one gets the slot, the other keeps waiting
			wg.Go(func() {
				_, err := c.Validate(context.Background(), as.Opaque(oauthtest.TokenOptions{}))
				wantErr(t, err, tollgate.ErrUnavailable, "introspection")
				ended <- time.Since(start)
			})
		}
		wg.Wait()
		first, second := <-ended, <-ended
		if first != 90*time.Minute || second != 2*time.Hour {
			t.Fatalf("waiters ended at %v and %v; want the loser to give up at 1h30m (30m + Timeout) and the winner at 2h", first, second)
		}
		if n := as.Requests(oauthtest.EndpointIntrospection); n != 2 {
			t.Fatalf("%d calls reached the AS, want 2", n)
		}
	})
}
