package jwks_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The contract with the validator, checked at compile time.
var (
	_ validator.KeySet                 = (*jwks.Set)(nil)
	_ interface{ Generation() uint64 } = (*jwks.Set)(nil)
)

// advance moves the bubble's fake clock on by d, then lets every goroutine
// the new time woke (background fetches) run until it blocks again.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// inMemory starts an in-memory authorization server, to be called inside a
// synctest bubble; it is closed when the bubble's test ends.
func inMemory(t *testing.T, cfg oauthtest.Config) *oauthtest.Server {
	t.Helper()
	cfg.InMemory = true
	as := oauthtest.New(cfg)
	t.Cleanup(as.Close)
	return as
}

// newSet makes a set that talks to as (its JWK Set URL unless cfg names a
// source) and closes it when the test ends, before the server.
func newSet(t *testing.T, as *oauthtest.Server, cfg jwks.Config) *jwks.Set {
	t.Helper()
	if cfg.URL == "" && cfg.Issuer == "" && cfg.Keys == nil {
		cfg.URL = as.JWKSURL()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = as.Client()
	}
	if cfg.Logger == nil {
		// With no Observer, the set logs every failure; these tests
		// provoke hundreds on purpose.
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := jwks.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// events records what a set reports to its observer.
type events struct {
	mu       sync.Mutex
	fetches  []tollgate.KeyFetchEvent
	failures []tollgate.KeyFetchEvent
	skipped  []tollgate.KeySkippedEvent
}

func (e *events) observer() tollgate.Observer {
	return tollgate.Observer{
		OnKeyFetch: func(_ context.Context, ev tollgate.KeyFetchEvent) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.fetches = append(e.fetches, ev)
		},
		OnKeyFetchFailure: func(_ context.Context, ev tollgate.KeyFetchEvent) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.failures = append(e.failures, ev)
		},
		OnKeySkipped: func(_ context.Context, ev tollgate.KeySkippedEvent) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.skipped = append(e.skipped, ev)
		},
	}
}

func (e *events) counts() (fetches, failures, skipped int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.fetches), len(e.failures), len(e.skipped)
}

func (e *events) lastFetch() tollgate.KeyFetchEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.fetches) == 0 {
		return tollgate.KeyFetchEvent{}
	}
	return e.fetches[len(e.fetches)-1]
}

func (e *events) lastFailure() tollgate.KeyFetchEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.failures) == 0 {
		return tollgate.KeyFetchEvent{}
	}
	return e.failures[len(e.failures)-1]
}

// wantErr asserts that err is a *tollgate.Error of kind and check.
func wantErr(t *testing.T, err error, kind error, check string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want kind %v", err, kind)
	}
	var te *tollgate.Error
	if !errors.As(err, &te) || te.Check != check {
		t.Fatalf("err = %#v, want check %q", err, check)
	}
}

// mustLookup asserts that kid is known and that the keys verify token.
func mustLookup(t *testing.T, s *jwks.Set, kid, token string) {
	t.Helper()
	keys, err := s.Lookup(context.Background(), kid)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", kid, err)
	}
	if !verifies(token, keys) {
		t.Fatalf("Lookup(%q): no key verifies the token", kid)
	}
}

// verifies reports whether one of keys verifies the compact JWS token: a
// minimal verifier for RS256, ES256 and EdDSA, so that these tests prove a
// looked-up key validates a token without depending on the validator.
func verifies(token string, keys []*jwks.Key) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	sig, err2 := base64.RawURLEncoding.DecodeString(parts[2])
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err1 != nil || err2 != nil || json.Unmarshal(hb, &hdr) != nil {
		return false
	}
	input := []byte(parts[0] + "." + parts[1])
	sum := sha256.Sum256(input)
	for _, k := range keys {
		if !k.Fits(hdr.Alg) {
			continue
		}
		switch pub := k.Public().(type) {
		case *rsa.PublicKey:
			if hdr.Alg == "RS256" && rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil {
				return true
			}
		case *ecdsa.PublicKey:
			if hdr.Alg == "ES256" && len(sig) == 64 &&
				ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
				return true
			}
		case ed25519.PublicKey:
			if ed25519.Verify(pub, input, sig) {
				return true
			}
		}
	}
	return false
}

// kidOf returns the "kid" of a token's header.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	hb, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr.Kid
}

// jwkSet returns a JWK Set document with the given members.
func jwkSet(members ...json.RawMessage) string {
	b, err := json.Marshal(map[string]any{"keys": members})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// withMembers returns a copy of the JWK jwk with members set (nil removes).
func withMembers(jwk json.RawMessage, members map[string]any) json.RawMessage {
	var m map[string]any
	if err := json.Unmarshal(jwk, &m); err != nil {
		panic(err)
	}
	for k, v := range members {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}
