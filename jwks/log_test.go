package jwks_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/internal/syncbuf"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
)

// TestFailuresLoggedWithoutObserver: a set configured with no Observer
// reports a failed fetch and a skipped key to its Logger as warnings, once
// each; with an Observer set, the Logger gets no event. The twin fetches
// good keys: one debug line, no warning.
func TestFailuresLoggedWithoutObserver(t *testing.T) {
	const hmacKey = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
	for _, tc := range []struct {
		name     string
		body     func(as *oauthtest.Server) oauthtest.Failure // nil: the server's own keys
		observer bool
		want     string // expected once; "": no line at all
		lines    int    // lines expected in all
	}{
		{"good keys (twin)", nil, false, `level=DEBUG msg="tollgate: keys fetched"`, 1},
		{"fetch fails", func(*oauthtest.Server) oauthtest.Failure { return oauthtest.Failure{Status: 500} }, false,
			`level=WARN msg="tollgate: key fetch failed"`, 1},
		{"key skipped", func(as *oauthtest.Server) oauthtest.Failure {
			return oauthtest.Failure{Body: jwkSet(as.SigningKey().PublicJWK(false),
				json.RawMessage(`{"kty":"oct","kid":"hmac","k":"`+hmacKey+`"}`))}
		}, false, `level=WARN msg="tollgate: key skipped"`, 2}, // and the fetch, at debug level
		{"fetch fails, observer set", func(*oauthtest.Server) oauthtest.Failure { return oauthtest.Failure{Status: 500} }, true, "", 0},
		{"key skipped, observer set", func(as *oauthtest.Server) oauthtest.Failure {
			return oauthtest.Failure{Body: jwkSet(as.SigningKey().PublicJWK(false),
				json.RawMessage(`{"kty":"oct","kid":"hmac","k":"`+hmacKey+`"}`))}
		}, true, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := inMemory(t, oauthtest.Config{})
				if tc.body != nil {
					as.Fail(oauthtest.EndpointJWKS, tc.body(as))
				}
				var buf syncbuf.Buffer
				cfg := jwks.Config{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
				var ev events
				if tc.observer {
					cfg.Observer = ev.observer()
				}
				s := newSet(t, as, cfg)
				_ = s.Start(context.Background()) // fails for "fetch fails"
				out := buf.String()
				if tc.want == "" {
					fetches, failures, skipped := ev.counts()
					if out != "" || fetches+failures+skipped == 0 {
						t.Fatalf("observer saw %d/%d/%d events; the Logger got:\n%s", fetches, failures, skipped, out)
					}
					return
				}
				if strings.Count(out, tc.want) != 1 || strings.Count(out, "\n") != tc.lines {
					t.Fatalf("want %q once, %d lines in all:\n%s", tc.want, tc.lines, out)
				}
				if strings.Contains(out, hmacKey) {
					t.Fatalf("the log shows a key:\n%s", out)
				}
			})
		})
	}
}

// Twin of the default: an Observer with only OnKeyFetch set replaces the
// log observer entirely (IsZero is false), so nothing is logged.
func TestObserverReplacesLogging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := inMemory(t, oauthtest.Config{})
		as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: 500})
		var buf syncbuf.Buffer
		fetched := 0
		s := newSet(t, as, jwks.Config{
			Logger:   slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Observer: tollgate.Observer{OnKeyFetch: func(context.Context, tollgate.KeyFetchEvent) { fetched++ }},
		})
		if err := s.Start(context.Background()); err == nil {
			t.Fatal("Start succeeded against a failing server")
		}
		if buf.String() != "" || fetched != 0 {
			t.Fatalf("fetched %d; the Logger got:\n%s", fetched, buf.String())
		}
	})
}
