package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tollgate/tollgate/oauthtest"
)

// IntrospectionDelay is how long the authorization server of the
// introspection benchmarks takes to answer, on top of the work itself: the
// order of a round trip to an AS in the same region.
const IntrospectionDelay = 5 * time.Millisecond

// IntrospectionRequests is the number of requests in one run of an
// introspection scenario (the benchmarks are run with -benchtime set to it).
const IntrospectionRequests = 1024

// IntrospectionFixture is a loopback authorization server that answers
// RFC 7662 introspection after a fixed delay, and opaque tokens it knows.
type IntrospectionFixture struct {
	AS *oauthtest.Server
	// Shared is one active token.
	Shared string
	// Distinct are [IntrospectionRequests] active tokens, one per request
	// of the distinct-token scenarios.
	Distinct []string
	// Unknown is a token the AS never issued; Revoked one it revoked.
	Unknown, Revoked string
}

// NewIntrospectionFixture starts the server, answering introspection after
// delay, and mints the tokens. The caller must Close it.
func NewIntrospectionFixture(delay time.Duration) *IntrospectionFixture {
	as := oauthtest.New(oauthtest.Config{
		Algorithm: "ES256", // the JWT key is unused; ES256 is the quickest to generate
		OnRequest: func(ep oauthtest.Endpoint, _ *http.Request) {
			if ep == oauthtest.EndpointIntrospection && delay > 0 {
				time.Sleep(delay) // the AS's latency, not a wait in a test
			}
		},
	})
	opts := oauthtest.TokenOptions{Subject: "user-42", Scopes: []string{"orders:read", "orders:write"}, Lifetime: Lifetime}
	f := &IntrospectionFixture{AS: as, Shared: as.Opaque(opts), Unknown: "unknown-opaque-token-0123456789", Revoked: as.Opaque(opts)}
	as.Revoke(f.Revoked)
	f.Distinct = make([]string, IntrospectionRequests)
	for i := range f.Distinct {
		f.Distinct[i] = as.Opaque(opts)
	}
	return f
}

// Close stops the server.
func (f *IntrospectionFixture) Close() { f.AS.Close() }

// Introspector is a way of validating opaque tokens against the AS.
type Introspector struct {
	// Name is the sub-benchmark name (same rules as [Contender.Name]).
	Name, Label string
	// Setup returns a validate function, safe for concurrent use, that
	// returns nil for an active token, and a func that releases what Setup
	// made.
	Setup func(f *IntrospectionFixture) (validate func(ctx context.Context, token string) error, closeFn func(), err error)
}

// Names of the introspectors the tables refer to.
const (
	NameNaive              = "naive"
	NameTollgateIntrospect = "tollgate"
)

// Introspectors returns every introspection contender, in table order.
// Adding one is one line here.
func Introspectors() []Introspector {
	return []Introspector{
		{Name: NameNaive, Label: "plain RFC 7662 POST per request (net/http + encoding/json)", Setup: naiveIntrospection},
		{Name: NameTollgateIntrospect, Label: "tollgate introspect.Client (cache, shared calls, 32 in flight)", Setup: tollgateIntrospection},
	}
}

// naiveIntrospection is what an API without an introspection library does:
// one POST per request with http.DefaultTransport's settings, the JSON
// decoded, "active" checked.
func naiveIntrospection(f *IntrospectionFixture) (func(context.Context, string) error, func(), error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	endpoint := f.AS.IntrospectionURL()
	validate := func(ctx context.Context, token string) error {
		form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.SetBasicAuth(oauthtest.DefaultClientID, oauthtest.DefaultClientSecret)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("introspection: status %d", resp.StatusCode)
		}
		var answer struct {
			Active   bool   `json:"active"`
			Scope    string `json:"scope"`
			ClientID string `json:"client_id"`
			Sub      string `json:"sub"`
			Exp      int64  `json:"exp"`
		}
		if err := json.Unmarshal(body, &answer); err != nil {
			return err
		}
		if !answer.Active {
			return errRejected
		}
		return nil
	}
	return validate, tr.CloseIdleConnections, nil
}
