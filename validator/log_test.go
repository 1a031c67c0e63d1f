package validator_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/internal/syncbuf"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// TestFailuresLoggedWithoutObserver: the README's setup (no Observer) must
// not fail silently. A validator whose issuer's keys cannot be fetched logs
// the failure to its Logger as a warning - once: the validator chooses the
// default observer, and its key set and cache share it. With an Observer
// set, the Logger gets no event. The twin loads the keys: debug lines only.
func TestFailuresLoggedWithoutObserver(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fail     bool
		observer bool
	}{
		{"keys load (twin)", false, false},
		{"key fetch fails", true, false},
		{"key fetch fails, observer set", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := oauthtest.New(oauthtest.Config{InMemory: true, Algorithm: "ES256"})
				defer as.Close()
				if tc.fail {
					as.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: 500})
				}
				var buf syncbuf.Buffer
				var failures atomic.Int64
				cfg := validator.Config{
					Issuers:    []validator.Issuer{{Issuer: as.Issuer(), Audiences: []string{as.Audience()}}},
					HTTPClient: as.Client(),
					Logger:     slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
				}
				if tc.observer {
					cfg.Observer.OnKeyFetchFailure = func(context.Context, tollgate.KeyFetchEvent) { failures.Add(1) }
				}
				v, err := validator.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer v.Close()
				token := as.JWT(oauthtest.TokenOptions{})
				p, err := v.Validate(context.Background(), token)
				out := buf.String()
				switch {
				case !tc.fail:
					wantAccept(t, p, err)
					for _, want := range []string{`level=DEBUG msg="tollgate: keys fetched"`, `level=DEBUG msg="tollgate: cache miss"`} {
						if strings.Count(out, want) != 1 {
							t.Errorf("want %q once:\n%s", want, out)
						}
					}
					if strings.Contains(out, "WARN") {
						t.Errorf("a warning for keys that loaded:\n%s", out)
					}
				case tc.observer:
					wantReject(t, err, tollgate.ErrUnavailable, "jwks")
					if out != "" || failures.Load() != 1 {
						t.Fatalf("observer saw %d failures; the Logger got:\n%s", failures.Load(), out)
					}
				default:
					wantReject(t, err, tollgate.ErrUnavailable, "jwks")
					for _, want := range []string{`level=WARN msg="tollgate: key fetch failed"`, `level=DEBUG msg="tollgate: cache miss"`} {
						if strings.Count(out, want) != 1 {
							t.Errorf("want %q once:\n%s", want, out)
						}
					}
					if strings.Count(out, "\n") != 2 {
						t.Errorf("want two lines:\n%s", out)
					}
				}
			})
		})
	}
}
