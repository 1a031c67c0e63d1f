package introspect_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/oauthtest"
)

// logBuffer is a slog.Logger writing text records to a buffer that is safe
// for concurrent use (cache and transport goroutines may log).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogBuffer(level slog.Level) (*logBuffer, *slog.Logger) {
	b := &logBuffer{}
	return b, slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: level}))
}

// TestAudiencesRequired: a Config without Audiences is refused unless
// InsecureAnyAudience says so; with it, an active answer for another API is
// accepted, and the passing twin with Audiences rejects that same answer.
func TestAudiencesRequired(t *testing.T) {
	as := newAS(oauthtest.Config{})
	defer as.Close()
	foreign := as.Opaque(oauthtest.TokenOptions{Audience: []string{"https://other-api.example"}})

	t.Run("no audience refused", func(t *testing.T) {
		cfg := config(as)
		cfg.Audiences = nil
		c, err := introspect.New(cfg)
		if err == nil {
			_ = c.Close()
			t.Fatal("New accepted a Config without Audiences")
		}
		if !strings.Contains(err.Error(), "Audiences") || !strings.Contains(err.Error(), "InsecureAnyAudience") {
			t.Errorf("err = %v; want it to name Audiences and InsecureAnyAudience", err)
		}
	})
	t.Run("both refused", func(t *testing.T) {
		cfg := config(as)
		cfg.InsecureAnyAudience = true
		if c, err := introspect.New(cfg); err == nil {
			_ = c.Close()
			t.Fatal("New accepted Audiences with InsecureAnyAudience")
		}
	})
	t.Run("audiences checked", func(t *testing.T) {
		c := newClient(t, config(as))
		_, err := c.Validate(context.Background(), foreign)
		wantErr(t, err, tollgate.ErrInvalidToken, "aud")
		if _, err := c.Validate(context.Background(), as.Opaque(oauthtest.TokenOptions{})); err != nil {
			t.Fatalf("own audience rejected: %v", err)
		}
	})
	t.Run("any audience", func(t *testing.T) {
		cfg := config(as)
		cfg.Audiences, cfg.InsecureAnyAudience = nil, true
		c := newClient(t, cfg)
		if _, err := c.Validate(context.Background(), foreign); err != nil {
			t.Fatalf("InsecureAnyAudience rejected: %v", err)
		}
	})
}

// TestInsecureLoggedOnce: every Insecure... option is logged once, at New,
// through Config.Logger, and never again on Validate; a Config with none
// logs nothing.
func TestInsecureLoggedOnce(t *testing.T) {
	as := newAS(oauthtest.Config{})
	defer as.Close()
	for _, tc := range []struct {
		name           string
		anyAud, noTLS  bool
		wantAnyAud     int
		wantInsecureIO int
	}{
		{"none (twin)", false, false, 0, 0},
		{"InsecureAnyAudience", true, false, 1, 0},
		{"InsecureAllowHTTP", false, true, 0, 1},
		{"both", true, true, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf, logger := newLogBuffer(slog.LevelInfo)
			cfg := config(as)
			cfg.Logger = logger
			cfg.DisableCache = false
			cfg.InsecureAllowHTTP = tc.noTLS
			if tc.anyAud {
				cfg.Audiences, cfg.InsecureAnyAudience = nil, true
			}
			c := newClient(t, cfg)
			for range 3 {
				if _, err := c.Validate(context.Background(), as.Opaque(oauthtest.TokenOptions{})); err != nil {
					t.Fatal(err)
				}
			}
			out := buf.String()
			if n := strings.Count(out, "InsecureAnyAudience is set"); n != tc.wantAnyAud {
				t.Errorf("InsecureAnyAudience logged %d times, want %d:\n%s", n, tc.wantAnyAud, out)
			}
			if n := strings.Count(out, "InsecureAllowHTTP is set"); n != tc.wantInsecureIO {
				t.Errorf("InsecureAllowHTTP logged %d times, want %d:\n%s", n, tc.wantInsecureIO, out)
			}
			if lines := strings.Count(out, "\n"); lines != tc.wantAnyAud+tc.wantInsecureIO {
				t.Errorf("%d log lines, want %d:\n%s", lines, tc.wantAnyAud+tc.wantInsecureIO, out)
			}
			if n := strings.Count(out, "level=WARN"); n != tc.wantAnyAud+tc.wantInsecureIO {
				t.Errorf("%d warnings, want %d:\n%s", n, tc.wantAnyAud+tc.wantInsecureIO, out)
			}
		})
	}
}

// TestEndpointUserInfoRefused: an Endpoint (or an Issuer) with user
// information is refused at New, with an error that does not quote the
// password; the twin without user information is accepted.
func TestEndpointUserInfoRefused(t *testing.T) {
	const pw = "s3cr3t-in-the-url"
	aud := []string{"https://api.example"}
	for _, tc := range []struct {
		name     string
		issuer   string
		endpoint string
		ok       bool
	}{
		{"endpoint (twin)", "", "https://as.example/introspect", true},
		{"endpoint with a password", "", "https://rs:" + pw + "@as.example/introspect", false},
		{"endpoint with a user", "", "https://rs@as.example/introspect", false},
		{"endpoint without https://", "", "rs:" + pw + "@as.example/introspect", false},
		{"issuer and endpoint (twin)", "https://as.example", "https://as.example/introspect", true},
		{"issuer with a password, endpoint configured", "https://as:" + pw + "@as.example", "https://as.example/introspect", false},
		{"issuer with a password, discovery", "https://as:" + pw + "@as.example", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := introspect.New(introspect.Config{Issuer: tc.issuer, Endpoint: tc.endpoint, Audiences: aud,
				ClientID: "rs", ClientSecret: "s", Logger: slog.New(slog.DiscardHandler)})
			if c != nil {
				_ = c.Close()
			}
			if tc.ok {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New accepted user information in a URL")
			}
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("err = %v quotes the password", err)
			}
		})
	}
}

// TestDiscoveredUserInfoRefused: a metadata document whose
// introspection_endpoint carries user information is refused like a
// configured one (ErrUnavailable, check "discovery"), and nothing - the
// error, the event, the log line, Client.String - shows the password. The
// twin names the same endpoint without user information.
func TestDiscoveredUserInfoRefused(t *testing.T) {
	const pw = "s3cr3t-in-the-document"
	for _, tc := range []struct {
		name     string
		userInfo string
	}{
		{"no user information (twin)", ""},
		{"password", "rs:" + pw + "@"},
		{"user", "rs@"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := newAS(oauthtest.Config{})
			defer as.Close()
			ep := strings.Replace(as.IntrospectionURL(), "://", "://"+tc.userInfo, 1)
			// Both documents, or discovery moves on to the good one.
			doc := oauthtest.Failure{Body: fmt.Sprintf(`{"issuer":%q,"introspection_endpoint":%q}`, as.Issuer(), ep)}
			as.Fail(oauthtest.EndpointServerMetadata, doc)
			as.Fail(oauthtest.EndpointOpenIDConfiguration, doc)
			buf, logger := newLogBuffer(slog.LevelDebug)
			cfg := config(as)
			cfg.Endpoint, cfg.Issuer, cfg.Logger = "", as.Issuer(), logger
			var events []tollgate.IntrospectEvent
			cfg.Observer = tollgate.JoinObservers(tollgate.NewLogObserver(logger), tollgate.Observer{
				OnIntrospectFailure: func(_ context.Context, e tollgate.IntrospectEvent) { events = append(events, e) },
			})
			c := newClient(t, cfg)
			_, err := c.Validate(context.Background(), as.Opaque(oauthtest.TokenOptions{}))
			seen := fmt.Sprint(err, events, c, buf.String())
			if strings.Contains(seen, pw) {
				t.Fatalf("the password was shown:\n%s", seen)
			}
			if tc.userInfo == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			wantErr(t, err, tollgate.ErrUnavailable, "discovery")
			if !strings.Contains(err.Error(), "user information") {
				t.Errorf("err = %v; want it to say why", err)
			}
			if as.Requests(oauthtest.EndpointIntrospection) != 0 {
				t.Error("the token was sent to the endpoint with user information")
			}
			if len(events) != 1 {
				t.Errorf("%d failure events, want 1", len(events))
			}
		})
	}
}

// TestFailuresLoggedWithoutObserver: with no Observer, failures reach
// Config.Logger as warnings (refused credentials as errors), each once even
// through the cache; with an Observer set, the Logger gets no event at all.
func TestFailuresLoggedWithoutObserver(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failure  oauthtest.Failure
		observer bool
		want     string // "": no event line
	}{
		{"server error", oauthtest.Failure{Status: 500}, false, `level=WARN msg="tollgate: introspection failed"`},
		{"credentials refused", oauthtest.Failure{Status: 401}, false, `level=ERROR msg="tollgate: introspection credentials rejected by the authorization server"`},
		{"server error, observer set", oauthtest.Failure{Status: 500}, true, ""},
		{"credentials refused, observer set", oauthtest.Failure{Status: 401}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := newAS(oauthtest.Config{})
			defer as.Close()
			as.Fail(oauthtest.EndpointIntrospection, tc.failure)
			buf, logger := newLogBuffer(slog.LevelDebug)
			cfg := cached(as)
			cfg.Logger = logger
			observed := 0
			if tc.observer {
				cfg.Observer.OnIntrospectFailure = func(context.Context, tollgate.IntrospectEvent) { observed++ }
			}
			c := newClient(t, cfg)
			_, err := c.Validate(context.Background(), as.Opaque(oauthtest.TokenOptions{}))
			wantErr(t, err, tollgate.ErrUnavailable, "introspection")
			out := buf.String()
			if tc.want == "" {
				if out != "" || observed != 1 {
					t.Fatalf("observer called %d times; the Logger got:\n%s", observed, out)
				}
				return
			}
			if n := strings.Count(out, tc.want); n != 1 {
				t.Fatalf("%q logged %d times, want once:\n%s", tc.want, n, out)
			}
			if n := strings.Count(out, `msg="tollgate: cache miss"`); n != 1 {
				t.Errorf("cache miss logged %d times, want once:\n%s", n, out)
			}
		})
	}
	// The passing twin: a success is logged at debug level only.
	t.Run("success", func(t *testing.T) {
		as := newAS(oauthtest.Config{})
		defer as.Close()
		buf, logger := newLogBuffer(slog.LevelDebug)
		cfg := cached(as)
		cfg.Logger = logger
		c := newClient(t, cfg)
		if _, err := c.Validate(context.Background(), as.Opaque(oauthtest.TokenOptions{})); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if n := strings.Count(out, `level=DEBUG msg="tollgate: introspected"`); n != 1 || strings.Contains(out, "WARN") {
			t.Fatalf("want one debug line for the call, no warning:\n%s", out)
		}
	})
}
