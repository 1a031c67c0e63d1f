package validator_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// TestHostileDiscoveryIssuerMismatch: the configured issuer's discovery
// document names another issuer, and a jwks_uri that serves the attacker's
// keys. A token the attacker signs with those keys, claiming the configured
// issuer, must not validate: the mismatch (RFC 8414 section 3.3, OpenID
// Connect Discovery section 4.3) stops discovery before any key is fetched,
// and the validator answers ErrUnavailable. The twin's document names the
// configured issuer and its own keys: the real server's token validates.
func TestHostileDiscoveryIssuerMismatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mismatch bool
	}{
		{"honest document (twin)", false},
		{"document names another issuer", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := oauthtest.New(oauthtest.Config{InMemory: true})
				defer as.Close()
				attacker := oauthtest.NewKey("RS256")
				token := as.JWT(oauthtest.TokenOptions{})
				if tc.mismatch {
					// The attacker's keys, served by the same host (an
					// in-memory client reaches one server only), at the
					// jwks_uri the lying document names.
					evilJWKS := as.URL + "/.well-known/oauth-authorization-server"
					set, _ := json.Marshal(map[string]any{"keys": []json.RawMessage{attacker.PublicJWK(false)}})
					as.Fail(oauthtest.EndpointServerMetadata, oauthtest.Failure{Body: string(set)})
					doc, _ := json.Marshal(map[string]string{"issuer": "https://attacker.example", "jwks_uri": evilJWKS})
					as.Fail(oauthtest.EndpointOpenIDConfiguration, oauthtest.Failure{Body: string(doc)})
					token = as.JWT(oauthtest.TokenOptions{Key: attacker})
				}
				v, err := validator.New(validator.Config{
					Issuers:    []validator.Issuer{{Issuer: as.Issuer(), Audiences: []string{as.Audience()}}},
					HTTPClient: as.Client(),
					Logger:     slog.New(slog.DiscardHandler),
				})
				if err != nil {
					t.Fatal(err)
				}
				defer v.Close()
				startErr := v.Start(context.Background())
				p, err := v.Validate(context.Background(), token)
				if !tc.mismatch {
					if startErr != nil {
						t.Fatal(startErr)
					}
					wantAccept(t, p, err)
					return
				}
				if startErr == nil || !strings.Contains(startErr.Error(), "names issuer") {
					t.Fatalf("Start = %v, want the issuer mismatch", startErr)
				}
				wantReject(t, err, tollgate.ErrUnavailable, "jwks")
				if n := as.Requests(oauthtest.EndpointServerMetadata); n != 0 {
					t.Fatalf("the attacker's keys were fetched %d times", n)
				}
			})
		})
	}
}
