package cache_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// backend is a real Validator that counts its calls and answers with
// answer (by default: a principal valid for an hour, for any token).
type backend struct {
	calls  atomic.Int64
	answer func(ctx context.Context, token string) (*tollgate.Principal, error)
}

func (b *backend) Validate(ctx context.Context, token string) (*tollgate.Principal, error) {
	b.calls.Add(1)
	if b.answer == nil {
		return principal(token, time.Now().Add(time.Hour)), nil
	}
	return b.answer(ctx, token)
}

func principal(sub string, exp time.Time) *tollgate.Principal {
	return tollgate.NewPrincipal(tollgate.PrincipalInfo{
		Subject:   sub,
		Issuer:    "https://as.example.test",
		Audiences: []string{"https://api.example.test"},
		ExpiresAt: exp,
		Kind:      tollgate.KindJWT,
	})
}

// events counts the observer's cache events.
type events struct {
	hits, negativeHits, misses, coalesced atomic.Int64
}

func (ev *events) observer(t *testing.T, name string) tollgate.Observer {
	return tollgate.Observer{
		OnCacheHit: func(_ context.Context, e tollgate.CacheEvent) {
			if e.Cache != name {
				t.Errorf("CacheEvent.Cache = %q, want %q", e.Cache, name)
			}
			ev.hits.Add(1)
			if e.Negative {
				ev.negativeHits.Add(1)
			}
		},
		OnCacheMiss: func(_ context.Context, e tollgate.CacheEvent) {
			if e.Cache != name {
				t.Errorf("CacheEvent.Cache = %q, want %q", e.Cache, name)
			}
			ev.misses.Add(1)
			if e.Coalesced {
				ev.coalesced.Add(1)
			}
		},
	}
}

func newCache(t *testing.T, next tollgate.Validator, cfg cache.Config) *cache.Cache {
	t.Helper()
	c, err := cache.New(next, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// invalid returns a rejection like the JWT validator's.
func invalid(kind error, check string) error {
	return &tollgate.Error{Kind: kind, Check: check, Detail: "test rejection"}
}

func wantCheck(t *testing.T, err, kind error, check string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want errors.Is %v", err, kind)
	}
	var te *tollgate.Error
	if !errors.As(err, &te) || te.Check != check {
		t.Fatalf("err = %v, want Check %q", err, check)
	}
}

func TestHitAndMiss(t *testing.T) {
	var ev events
	b := &backend{}
	c := newCache(t, b, cache.Config{Name: "jwt", Observer: ev.observer(t, "jwt")})
	ctx := context.Background()

	p1, err := c.Validate(ctx, "token-a")
	if err != nil || p1.Subject() != "token-a" {
		t.Fatalf("first Validate = %v, %v", p1, err)
	}
	p2, err := c.Validate(ctx, "token-a")
	if err != nil || p2 != p1 {
		t.Fatalf("second Validate = %p, %v; want the cached principal %p", p2, err, p1)
	}
	if got := b.calls.Load(); got != 1 {
		t.Fatalf("validator calls after a hit = %d, want 1", got)
	}
	// Another token is another entry.
	if p, err := c.Validate(ctx, "token-b"); err != nil || p.Subject() != "token-b" {
		t.Fatalf("Validate(token-b) = %v, %v", p, err)
	}
	if got := b.calls.Load(); got != 2 {
		t.Fatalf("validator calls = %d, want 2", got)
	}
	if ev.hits.Load() != 1 || ev.misses.Load() != 2 || ev.negativeHits.Load() != 0 || ev.coalesced.Load() != 0 {
		t.Fatalf("events: hits %d (negative %d), misses %d (coalesced %d); want 1 (0), 2 (0)",
			ev.hits.Load(), ev.negativeHits.Load(), ev.misses.Load(), ev.coalesced.Load())
	}
}

func TestDefaultName(t *testing.T) {
	var ev events
	c := newCache(t, &backend{}, cache.Config{Observer: ev.observer(t, cache.DefaultName)})
	if _, err := c.Validate(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	if ev.misses.Load() != 1 {
		t.Fatalf("misses = %d, want 1", ev.misses.Load())
	}
}

// TestPositiveExpiry checks that an accepted token is served until the
// earlier of its exp and MaxTTL, by the entry's own expiry: the sweeper is
// off, so nothing but that check stops a stale entry.
func TestPositiveExpiry(t *testing.T) {
	tests := []struct {
		name   string
		life   time.Duration // token lifetime from the first validation; 0: no exp
		maxTTL time.Duration
		served time.Duration // still a hit this long after caching
		gone   time.Duration // a miss this long after caching
	}{
		{name: "exp before MaxTTL", life: 30 * time.Second, maxTTL: 5 * time.Minute, served: 29 * time.Second, gone: 30 * time.Second},
		{name: "MaxTTL before exp", life: time.Hour, maxTTL: 5 * time.Minute, served: 5*time.Minute - time.Second, gone: 5 * time.Minute},
		{name: "default MaxTTL", life: time.Hour, served: cache.DefaultMaxTTL - time.Second, gone: cache.DefaultMaxTTL},
		{name: "no exp: MaxTTL", maxTTL: 2 * time.Minute, served: 2*time.Minute - time.Second, gone: 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var exp time.Time
				if tt.life > 0 {
					exp = time.Now().Add(tt.life)
				}
				b := &backend{answer: func(_ context.Context, token string) (*tollgate.Principal, error) {
					if !exp.IsZero() && !time.Now().Before(exp) {
						return nil, invalid(tollgate.ErrExpired, "exp")
					}
					return principal(token, exp), nil
				}}
				c := newCache(t, b, cache.Config{MaxTTL: tt.maxTTL, SweepInterval: -1})
				ctx := context.Background()
				start := time.Now()
				if _, err := c.Validate(ctx, "tok"); err != nil {
					t.Fatal(err)
				}

				time.Sleep(tt.served)
				if p, err := c.Validate(ctx, "tok"); err != nil || p.Subject() != "tok" {
					t.Fatalf("at +%v: %v, %v; want the cached principal", time.Since(start), p, err)
				}
				if got := b.calls.Load(); got != 1 {
					t.Fatalf("at +%v: %d calls, want 1 (served from cache)", time.Since(start), got)
				}

				time.Sleep(tt.gone - tt.served)
				p, err := c.Validate(ctx, "tok")
				if got := b.calls.Load(); got != 2 {
					t.Fatalf("at +%v: %d calls, want 2 (entry no longer served)", time.Since(start), got)
				}
				if tt.life > 0 && tt.life <= tt.gone {
					// The token itself has expired: the cache did not
					// answer for it, the validator rejected it.
					if p != nil {
						t.Fatalf("expired token served: %v", p.Subject())
					}
					wantCheck(t, err, tollgate.ErrExpired, "exp")
				} else if err != nil {
					t.Fatalf("revalidation: %v", err)
				}
			})
		})
	}
}

// TestExpiredPrincipalNotCached: a validator with leeway may accept a token
// at or past its exp; the cache must not store it.
func TestExpiredPrincipalNotCached(t *testing.T) {
	for _, tt := range []struct {
		name  string
		life  time.Duration
		calls int64
	}{
		{name: "exp now", life: 0, calls: 2},
		{name: "exp past (leeway)", life: -30 * time.Second, calls: 2},
		{name: "exp ahead (twin)", life: time.Second, calls: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				exp := time.Now().Add(tt.life)
				b := &backend{answer: func(_ context.Context, token string) (*tollgate.Principal, error) {
					return principal(token, exp), nil
				}}
				c := newCache(t, b, cache.Config{})
				for range 2 {
					if _, err := c.Validate(context.Background(), "tok"); err != nil {
						t.Fatal(err)
					}
				}
				if got := b.calls.Load(); got != tt.calls {
					t.Fatalf("calls = %d, want %d", got, tt.calls)
				}
			})
		})
	}
}

func TestNegativeCaching(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		cfg   cache.Config
		ttl   time.Duration // 0: not cached
		check string
		kind  error
	}{
		{name: "invalid signature", err: invalid(tollgate.ErrInvalidToken, "signature"), ttl: cache.DefaultNegativeTTL, kind: tollgate.ErrInvalidToken, check: "signature"},
		{name: "expired", err: invalid(tollgate.ErrExpired, "exp"), ttl: cache.DefaultNegativeTTL, kind: tollgate.ErrExpired, check: "exp"},
		{name: "wrapped", err: fmt.Errorf("introspection: %w", invalid(tollgate.ErrInvalidToken, "active")), ttl: cache.DefaultNegativeTTL, kind: tollgate.ErrInvalidToken, check: "active"},
		{name: "NegativeTTL set", err: invalid(tollgate.ErrInvalidToken, "aud"), cfg: cache.Config{NegativeTTL: 3 * time.Second}, ttl: 3 * time.Second, kind: tollgate.ErrInvalidToken, check: "aud"},
		{name: "NegativeTTL negative: off", err: invalid(tollgate.ErrInvalidToken, "aud"), cfg: cache.Config{NegativeTTL: -1}, kind: tollgate.ErrInvalidToken, check: "aud"},
		{name: "MaxNegativeEntries negative: off", err: invalid(tollgate.ErrInvalidToken, "aud"), cfg: cache.Config{MaxNegativeEntries: -1}, kind: tollgate.ErrInvalidToken, check: "aud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var ev events
				b := &backend{answer: func(context.Context, string) (*tollgate.Principal, error) { return nil, tt.err }}
				cfg := tt.cfg
				cfg.Observer = ev.observer(t, cache.DefaultName)
				c := newCache(t, b, cfg)
				ctx := context.Background()
				validate := func() {
					t.Helper()
					p, err := c.Validate(ctx, "bad-token")
					if p != nil {
						t.Fatalf("rejected token got a principal")
					}
					wantCheck(t, err, tt.kind, tt.check)
				}
				validate()
				if tt.ttl == 0 {
					validate()
					if got := b.calls.Load(); got != 2 {
						t.Fatalf("calls = %d, want 2 (rejection not cached)", got)
					}
					return
				}
				time.Sleep(tt.ttl - time.Millisecond)
				validate()
				if got := b.calls.Load(); got != 1 {
					t.Fatalf("calls within NegativeTTL = %d, want 1", got)
				}
				if ev.negativeHits.Load() != 1 {
					t.Fatalf("negative hits = %d, want 1", ev.negativeHits.Load())
				}
				time.Sleep(time.Millisecond)
				validate()
				if got := b.calls.Load(); got != 2 {
					t.Fatalf("calls after NegativeTTL = %d, want 2", got)
				}
			})
		})
	}
}

// TestNotCached: results that do not decide the token's fate are never
// cached; each case has the rejection that is cached as its twin.
func TestNotCached(t *testing.T) {
	kidMiss := invalid(tollgate.ErrInvalidToken, "kid")
	tests := []struct {
		name  string
		p     *tollgate.Principal
		err   error
		calls int64 // after two validations
		kind  error
		check string
	}{
		{name: "unavailable", err: invalid(tollgate.ErrUnavailable, "jwks"), calls: 2, kind: tollgate.ErrUnavailable, check: "jwks"},
		{name: "unavailable and invalid", err: errors.Join(invalid(tollgate.ErrUnavailable, "introspection"), invalid(tollgate.ErrInvalidToken, "active")), calls: 2, kind: tollgate.ErrUnavailable, check: "introspection"},
		{name: "kid miss", err: kidMiss, calls: 2, kind: tollgate.ErrInvalidToken, check: "kid"},
		{name: "kid miss wrapped", err: fmt.Errorf("jwt: %w", kidMiss), calls: 2, kind: tollgate.ErrInvalidToken, check: "kid"},
		{name: "kid miss deep in a tree", err: &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "hybrid", Err: kidMiss}, calls: 2, kind: tollgate.ErrInvalidToken, check: "hybrid"},
		{name: "deadline", err: &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "introspection", Err: context.DeadlineExceeded}, calls: 2, kind: tollgate.ErrInvalidToken, check: "introspection"},
		{name: "canceled", err: &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "introspection", Err: context.Canceled}, calls: 2, kind: tollgate.ErrInvalidToken, check: "introspection"},
		{name: "insufficient scope", err: &tollgate.Error{Kind: tollgate.ErrInsufficientScope, Check: "scope"}, calls: 2, kind: tollgate.ErrInsufficientScope, check: "scope"},
		{name: "no principal, no error", calls: 2, kind: tollgate.ErrUnavailable, check: "cache"},
		{name: "principal and error", p: principal("x", time.Now().Add(time.Hour)), err: invalid(tollgate.ErrUnavailable, "jwks"), calls: 2, kind: tollgate.ErrUnavailable, check: "jwks"},
		// The twin: the same shape of error, for a check that is final.
		{name: "twin: bad signature is cached", err: invalid(tollgate.ErrInvalidToken, "signature"), calls: 1, kind: tollgate.ErrInvalidToken, check: "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &backend{answer: func(context.Context, string) (*tollgate.Principal, error) { return tt.p, tt.err }}
			c := newCache(t, b, cache.Config{})
			for range 2 {
				p, err := c.Validate(context.Background(), "tok")
				if p != nil {
					t.Fatalf("got a principal with error %v", err)
				}
				wantCheck(t, err, tt.kind, tt.check)
			}
			if got := b.calls.Load(); got != tt.calls {
				t.Fatalf("calls = %d, want %d", got, tt.calls)
			}
		})
	}
}

// TestPlainError: an error matching no sentinel is passed through, not
// cached.
func TestPlainError(t *testing.T) {
	boom := errors.New("custom validator said no")
	b := &backend{answer: func(context.Context, string) (*tollgate.Principal, error) { return nil, boom }}
	c := newCache(t, b, cache.Config{})
	for range 2 {
		if _, err := c.Validate(context.Background(), "tok"); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
	}
	if got := b.calls.Load(); got != 2 {
		t.Fatalf("calls = %d, want 2", got)
	}
}

// TestCoalescing: 1,000 concurrent misses for one token make exactly one
// call, and the validator holds its answer until every caller waits, so the
// count proves coalescing rather than luck.
func TestCoalescing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const callers = 1000
		release := make(chan struct{})
		var ev events
		b := &backend{answer: func(ctx context.Context, token string) (*tollgate.Principal, error) {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, invalid(tollgate.ErrUnavailable, "test")
			}
			return principal(token, time.Now().Add(time.Hour)), nil
		}}
		c := newCache(t, b, cache.Config{Observer: ev.observer(t, cache.DefaultName)})

		results := make([]*tollgate.Principal, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() { results[i], errs[i] = c.Validate(context.Background(), "shared-token") })
		}
		synctest.Wait() // every caller is now blocked: one in the validator, the rest waiting on it
		if got := b.calls.Load(); got != 1 {
			t.Fatalf("calls while %d callers wait = %d, want 1", callers, got)
		}
		if ev.misses.Load() != callers || ev.coalesced.Load() != callers-1 {
			t.Fatalf("misses %d (coalesced %d), want %d (%d)", ev.misses.Load(), ev.coalesced.Load(), callers, callers-1)
		}
		close(release)
		wg.Wait()
		for i := range callers {
			if errs[i] != nil || results[i] != results[0] || results[0] == nil {
				t.Fatalf("caller %d: %v, %v; want the shared principal", i, results[i], errs[i])
			}
		}
		if _, err := c.Validate(context.Background(), "shared-token"); err != nil {
			t.Fatal(err)
		}
		if got := b.calls.Load(); got != 1 {
			t.Fatalf("calls = %d, want 1", got)
		}
	})
}

// blocked is a validator that holds every call until release is closed, and
// records the context it was called with.
type blocked struct {
	backend
	release chan struct{}
	ctxs    chan context.Context
}

func newBlocked() *blocked {
	b := &blocked{release: make(chan struct{}), ctxs: make(chan context.Context, 10)}
	b.answer = func(ctx context.Context, token string) (*tollgate.Principal, error) {
		b.ctxs <- ctx
		select {
		case <-b.release:
			return principal(token, time.Now().Add(time.Hour)), nil
		case <-ctx.Done():
			return nil, &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "test", Err: ctx.Err()}
		}
	}
	return b
}

type result struct {
	p   *tollgate.Principal
	err error
}

func validateAsync(c *cache.Cache, ctx context.Context, token string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		p, err := c.Validate(ctx, token)
		ch <- result{p, err}
	}()
	return ch
}

func pending(ch <-chan result) bool {
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

func TestWaiterCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBlocked()
		c := newCache(t, b, cache.Config{})
		first := validateAsync(c, context.Background(), "tok")
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		waiter := validateAsync(c, ctx, "tok")
		synctest.Wait()
		if !pending(waiter) || !pending(first) {
			t.Fatal("a caller returned before the call finished")
		}

		cancel()
		synctest.Wait()
		var r result
		select {
		case r = <-waiter:
		default:
			t.Fatal("cancelled waiter still waiting")
		}
		if r.p != nil {
			t.Fatal("cancelled waiter got a principal")
		}
		wantCheck(t, r.err, tollgate.ErrUnavailable, "context")
		if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled in the chain", r.err)
		}

		// The call goes on for the first caller.
		callCtx := <-b.ctxs
		if callCtx.Err() != nil {
			t.Fatalf("shared call's context ended: %v", callCtx.Err())
		}
		if !pending(first) {
			t.Fatal("first caller returned before the call finished")
		}
		close(b.release)
		if r := <-first; r.err != nil || r.p == nil {
			t.Fatalf("first caller: %v, %v", r.p, r.err)
		}
		if got := b.calls.Load(); got != 1 {
			t.Fatalf("calls = %d, want 1", got)
		}
	})
}

type ctxKey struct{}

func TestFirstCallerCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBlocked()
		c := newCache(t, b, cache.Config{CallTimeout: time.Minute})
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "request-42"))
		start := time.Now()
		first := validateAsync(c, ctx, "tok")
		synctest.Wait()
		second := validateAsync(c, context.Background(), "tok")
		synctest.Wait()

		cancel()
		synctest.Wait()
		if pending(first) {
			t.Fatal("cancelled first caller still waiting")
		}
		callCtx := <-b.ctxs
		if err := callCtx.Err(); err != nil {
			t.Fatalf("the first caller's cancellation ended the shared call: %v", err)
		}
		if v := callCtx.Value(ctxKey{}); v != "request-42" {
			t.Fatalf("call context value = %v, want the first caller's", v)
		}
		if dl, ok := callCtx.Deadline(); !ok || !dl.Equal(start.Add(time.Minute)) {
			t.Fatalf("call context deadline = %v, %v; want %v", dl, ok, start.Add(time.Minute))
		}
		close(b.release)
		if r := <-second; r.err != nil || r.p == nil {
			t.Fatalf("second caller: %v, %v", r.p, r.err)
		}
		// The result was cached for the first caller's retry.
		if _, err := c.Validate(context.Background(), "tok"); err != nil {
			t.Fatal(err)
		}
		if got := b.calls.Load(); got != 1 {
			t.Fatalf("calls = %d, want 1", got)
		}
	})
}

func TestCallerContextAlreadyDone(t *testing.T) {
	b := &backend{}
	c := newCache(t, b, cache.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Validate(ctx, "tok")
	wantCheck(t, err, tollgate.ErrUnavailable, "context")
	if b.calls.Load() != 0 {
		t.Fatalf("a call was made for a caller that had already gone")
	}
	// Twin: a live context.
	if _, err := c.Validate(context.Background(), "tok"); err != nil {
		t.Fatal(err)
	}
}

func TestCallTimeout(t *testing.T) {
	for _, tt := range []struct {
		name    string
		timeout time.Duration
		want    time.Duration
	}{
		{name: "default", want: cache.DefaultCallTimeout},
		{name: "configured", timeout: 3 * time.Second, want: 3 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBlocked() // never released: the call ends by timeout
				c := newCache(t, b, cache.Config{CallTimeout: tt.timeout})
				start := time.Now()
				p, err := c.Validate(context.Background(), "tok")
				if took := time.Since(start); took != tt.want {
					t.Fatalf("call took %v, want %v", took, tt.want)
				}
				if p != nil {
					t.Fatal("got a principal")
				}
				wantCheck(t, err, tollgate.ErrUnavailable, "test")
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want a deadline", err)
				}
				// Not cached: the next request asks again.
				close(b.release)
				if _, err := c.Validate(context.Background(), "tok"); err != nil {
					t.Fatal(err)
				}
				if got := b.calls.Load(); got != 2 {
					t.Fatalf("calls = %d, want 2", got)
				}
			})
		})
	}
}

// TestCallTimeoutBoundary: a call that answers just inside CallTimeout is
// served (and cached); one that would answer just past it fails at the
// timeout with ErrUnavailable.
func TestCallTimeoutBoundary(t *testing.T) {
	const timeout = 2 * time.Second
	for _, tt := range []struct {
		name  string
		takes time.Duration
		ok    bool
	}{
		{"just inside (twin)", timeout - time.Millisecond, true},
		{"just past", timeout + time.Millisecond, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				slow := tollgate.ValidatorFunc(func(ctx context.Context, token string) (*tollgate.Principal, error) {
					select {
					case <-time.After(tt.takes):
						return principal(token, time.Now().Add(time.Hour)), nil
					case <-ctx.Done():
						return nil, &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "test", Err: ctx.Err()}
					}
				})
				c := newCache(t, slow, cache.Config{CallTimeout: timeout})
				start := time.Now()
				p, err := c.Validate(context.Background(), "tok")
				took := time.Since(start)
				if tt.ok {
					if err != nil || p == nil || took != tt.takes {
						t.Fatalf("Validate = %v, %v after %v; want a principal after %v", p, err, took, tt.takes)
					}
					return
				}
				if p != nil || took != timeout {
					t.Fatalf("Validate = %v after %v; want no principal after %v", p, took, timeout)
				}
				wantCheck(t, err, tollgate.ErrUnavailable, "test")
			})
		})
	}
}

func TestGeneration(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
	}{
		{name: "positive"},
		{name: "negative", err: invalid(tollgate.ErrInvalidToken, "signature")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var gen atomic.Uint64
			b := &backend{answer: func(_ context.Context, token string) (*tollgate.Principal, error) {
				if tt.err != nil {
					return nil, tt.err
				}
				return principal(token, time.Now().Add(time.Hour)), nil
			}}
			c := newCache(t, b, cache.Config{Generation: gen.Load})
			ctx := context.Background()
			c.Validate(ctx, "tok")
			c.Validate(ctx, "tok")
			if got := b.calls.Load(); got != 1 {
				t.Fatalf("calls under one generation = %d, want 1", got)
			}
			gen.Add(1) // a refresh withdrew a key
			c.Validate(ctx, "tok")
			if got := b.calls.Load(); got != 2 {
				t.Fatalf("calls after a generation change = %d, want 2", got)
			}
			c.Validate(ctx, "tok")
			if got := b.calls.Load(); got != 2 {
				t.Fatalf("calls after revalidation = %d, want 2 (cached under the new generation)", got)
			}
		})
	}
}

// TestGenerationChangesDuringCall: a key withdrawn while a token was being
// validated with it: the result goes to the callers already waiting, but is
// not cached, and callers arriving after the change get a call of their own.
func TestGenerationChangesDuringCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var gen atomic.Uint64
		b := newBlocked()
		c := newCache(t, b, cache.Config{Generation: gen.Load})
		first := validateAsync(c, context.Background(), "tok")
		synctest.Wait()
		gen.Add(1)
		late := validateAsync(c, context.Background(), "tok")
		synctest.Wait()
		if got := b.calls.Load(); got != 2 {
			t.Fatalf("calls = %d, want 2 (the late caller must not join the old call)", got)
		}
		close(b.release)
		if r := <-first; r.err != nil {
			t.Fatal(r.err)
		}
		if r := <-late; r.err != nil {
			t.Fatal(r.err)
		}
		// The late call's result (current generation) is served.
		if _, err := c.Validate(context.Background(), "tok"); err != nil {
			t.Fatal(err)
		}
		if got := b.calls.Load(); got != 2 {
			t.Fatalf("calls = %d, want 2", got)
		}
	})
}

func TestLongTokenBypassesCache(t *testing.T) {
	for _, tt := range []struct {
		name  string
		len   int
		calls int64
	}{
		{name: "over MaxTokenBytes", len: cache.MaxTokenBytes + 1, calls: 2},
		{name: "at MaxTokenBytes (twin)", len: cache.MaxTokenBytes, calls: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := &backend{}
			c := newCache(t, b, cache.Config{})
			token := strings.Repeat("a", tt.len)
			for range 2 {
				if _, err := c.Validate(context.Background(), token); err != nil {
					t.Fatal(err)
				}
			}
			if got := b.calls.Load(); got != tt.calls {
				t.Fatalf("calls = %d, want %d", got, tt.calls)
			}
		})
	}
}

// TestPanic: a validator that panics makes the waiting callers panic, as a
// direct call would, instead of killing the process from the call's own
// goroutine; nothing is cached.
func TestPanic(t *testing.T) {
	b := &backend{answer: func(context.Context, string) (*tollgate.Principal, error) { panic("validator bug") }}
	c := newCache(t, b, cache.Config{})
	for i := range 2 {
		func() {
			defer func() {
				if r := recover(); r != "validator bug" {
					t.Fatalf("recovered %v, want the validator's panic", r)
				}
			}()
			c.Validate(context.Background(), "tok")
			t.Fatalf("validation %d did not panic", i)
		}()
	}
	if got := b.calls.Load(); got != 2 {
		t.Fatalf("calls = %d, want 2", got)
	}
}

// TestGoexit: a validator that never returns (runtime.Goexit, as
// t.FailNow does) fails its callers with ErrUnavailable instead of handing
// them neither a principal nor an error.
func TestGoexit(t *testing.T) {
	b := &backend{answer: func(context.Context, string) (*tollgate.Principal, error) {
		runtime.Goexit()
		return nil, nil
	}}
	c := newCache(t, b, cache.Config{})
	p, err := c.Validate(context.Background(), "tok")
	if p != nil {
		t.Fatal("got a principal")
	}
	wantCheck(t, err, tollgate.ErrUnavailable, "cache")
}

func TestClose(t *testing.T) {
	t.Run("stops the sweeper", func(t *testing.T) {
		c, err := cache.New(&backend{}, cache.Config{SweepInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		goleak.VerifyNone(t)
		if err := c.Close(); err != nil { // idempotent
			t.Fatal(err)
		}
	})
	t.Run("cancels calls in flight", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBlocked()
			c, err := cache.New(b, cache.Config{})
			if err != nil {
				t.Fatal(err)
			}
			waiting := validateAsync(c, context.Background(), "tok")
			synctest.Wait()
			c.Close() // returns once the call has ended
			r := <-waiting
			wantCheck(t, r.err, tollgate.ErrUnavailable, "test")
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("err = %v, want the call cancelled", r.err)
			}
		})
	})
	t.Run("after Close", func(t *testing.T) {
		b := &backend{}
		c, err := cache.New(b, cache.Config{})
		if err != nil {
			t.Fatal(err)
		}
		cached, _ := c.Validate(context.Background(), "cached")
		c.Close()
		if p, err := c.Validate(context.Background(), "cached"); err != nil || p != cached {
			t.Fatalf("cached entry after Close: %v, %v", p, err)
		}
		_, err = c.Validate(context.Background(), "new")
		wantCheck(t, err, tollgate.ErrUnavailable, "cache")
		if got := b.calls.Load(); got != 1 {
			t.Fatalf("calls = %d, want 1", got)
		}
	})
}

func TestNewValidatesConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		next tollgate.Validator
		cfg  cache.Config
		ok   bool
	}{
		{name: "zero config", next: &backend{}, ok: true},
		{name: "everything off", next: &backend{}, cfg: cache.Config{MaxTTL: -1, NegativeTTL: -1, MaxEntries: -1, MaxNegativeEntries: -1, SweepInterval: -1}, ok: true},
		{name: "no validator", cfg: cache.Config{}},
		{name: "negative CallTimeout", next: &backend{}, cfg: cache.Config{CallTimeout: -time.Second}},
		{name: "namespace with the default store", next: &backend{}, cfg: cache.Config{Namespace: "api"}, ok: true},
		{name: "store and namespace", next: &backend{}, cfg: cache.Config{Store: newMapStore(), Namespace: "api"}, ok: true},
		{name: "store without namespace", next: &backend{}, cfg: cache.Config{Store: newMapStore()}},
		{name: "namespace with a zero byte", next: &backend{}, cfg: cache.Config{Store: newMapStore(), Namespace: "api\x00b"}},
		{name: "namespace of 256 bytes", next: &backend{}, cfg: cache.Config{Store: newMapStore(), Namespace: strings.Repeat("n", 256)}, ok: true},
		{name: "namespace of 257 bytes", next: &backend{}, cfg: cache.Config{Store: newMapStore(), Namespace: strings.Repeat("n", 257)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := cache.New(tt.next, tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New: err = %v, want ok = %v", err, tt.ok)
			}
			if c != nil {
				c.Close()
			}
		})
	}
}

// TestOff: with caching off, the cache still coalesces but stores nothing.
func TestOff(t *testing.T) {
	b := &backend{}
	c := newCache(t, b, cache.Config{MaxTTL: -1, NegativeTTL: -1})
	for range 2 {
		if _, err := c.Validate(context.Background(), "tok"); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.calls.Load(); got != 2 {
		t.Fatalf("calls = %d, want 2", got)
	}
}

// TestExpiryByInjectedClock: entries expire by Config.Now, not by the
// store's own clock. Here the store's clock (real time) barely moves while
// the injected one jumps past the token's exp.
func TestExpiryByInjectedClock(t *testing.T) {
	for _, tt := range []struct {
		name  string
		err   error
		jump  time.Duration
		calls int64
	}{
		{name: "positive past exp", jump: time.Minute, calls: 2},
		{name: "positive before exp (twin)", jump: 59 * time.Second, calls: 1},
		{name: "negative past NegativeTTL", err: invalid(tollgate.ErrInvalidToken, "signature"), jump: cache.DefaultNegativeTTL, calls: 2},
		{name: "negative within NegativeTTL (twin)", err: invalid(tollgate.ErrInvalidToken, "signature"), jump: cache.DefaultNegativeTTL - time.Nanosecond, calls: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			var offset atomic.Int64
			now := func() time.Time { return base.Add(time.Duration(offset.Load())) }
			b := &backend{answer: func(_ context.Context, token string) (*tollgate.Principal, error) {
				if tt.err != nil {
					return nil, tt.err
				}
				return principal(token, base.Add(time.Minute)), nil
			}}
			c := newCache(t, b, cache.Config{Now: now, SweepInterval: -1})
			c.Validate(context.Background(), "tok")
			offset.Store(int64(tt.jump))
			c.Validate(context.Background(), "tok")
			if got := b.calls.Load(); got != tt.calls {
				t.Fatalf("calls = %d, want %d", got, tt.calls)
			}
		})
	}
}

// TestExpiryFunc: Config.Expiry bounds an accepted entry below exp and
// MaxTTL; a zero bound changes nothing, a later one neither, and one already
// past keeps the principal out of the cache.
func TestExpiryFunc(t *testing.T) {
	for _, tt := range []struct {
		name  string
		bound time.Duration // after the first validation; 0: zero time
		gone  time.Duration // first moment the entry is no longer served
	}{
		{name: "bound before exp and MaxTTL", bound: 90 * time.Second, gone: 90 * time.Second},
		{name: "zero: MaxTTL (twin)", gone: cache.DefaultMaxTTL},
		{name: "bound after MaxTTL: MaxTTL", bound: time.Hour, gone: cache.DefaultMaxTTL},
		{name: "bound already past: not cached", bound: -time.Second, gone: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				var seen atomic.Pointer[tollgate.Principal]
				b := &backend{}
				c := newCache(t, b, cache.Config{SweepInterval: -1, Expiry: func(p *tollgate.Principal) time.Time {
					seen.Store(p)
					if tt.bound == 0 {
						return time.Time{}
					}
					return start.Add(tt.bound)
				}})
				ctx := context.Background()
				p, err := c.Validate(ctx, "tok")
				if err != nil {
					t.Fatal(err)
				}
				if seen.Load() != p {
					t.Fatal("Expiry was not called with the accepted principal")
				}
				if tt.gone > 0 {
					time.Sleep(tt.gone - time.Nanosecond)
					c.Validate(ctx, "tok")
					if got := b.calls.Load(); got != 1 {
						t.Fatalf("at +%v: %d calls, want 1 (served from cache)", time.Since(start), got)
					}
					time.Sleep(time.Nanosecond)
				}
				c.Validate(ctx, "tok")
				if got := b.calls.Load(); got != 2 {
					t.Fatalf("at +%v: %d calls, want 2 (entry no longer served)", time.Since(start), got)
				}
			})
		})
	}
}

// TestExpiryFuncNotCalledForRejections: Expiry bounds accepted entries only.
func TestExpiryFuncNotCalledForRejections(t *testing.T) {
	var called atomic.Bool
	b := &backend{answer: func(context.Context, string) (*tollgate.Principal, error) {
		return nil, invalid(tollgate.ErrInvalidToken, "signature")
	}}
	c := newCache(t, b, cache.Config{Expiry: func(*tollgate.Principal) time.Time { called.Store(true); return time.Time{} }})
	for range 2 {
		_, err := c.Validate(context.Background(), "tok")
		wantCheck(t, err, tollgate.ErrInvalidToken, "signature")
	}
	if called.Load() || b.calls.Load() != 1 {
		t.Fatalf("Expiry called: %v, %d calls (want not called, 1 call)", called.Load(), b.calls.Load())
	}
}

// mapStore is a Store of one's own: a plain map, to share between caches.
type mapStore struct {
	mu sync.Mutex
	m  map[cache.Key]*cache.Entry
}

func newMapStore() *mapStore { return &mapStore{m: make(map[cache.Key]*cache.Entry)} }

func (s *mapStore) Get(k cache.Key) (*cache.Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[k]
	return e, ok
}

func (s *mapStore) Set(k cache.Key, e *cache.Entry, _ time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = e
}

func (s *mapStore) Delete(k cache.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
}

func (s *mapStore) DeleteExpired() {}

// TestSharedStore: two caches on one Store, in front of validators that
// disagree (API A accepts the token, API B refuses it). With different
// namespaces B never serves A's answer (the review's repro); with the same
// namespace they share entries, as replicas of one API deliberately do.
func TestSharedStore(t *testing.T) {
	for _, tt := range []struct {
		name         string
		nsA, nsB     string
		shared       bool
		storeEntries int
	}{
		{name: "different namespaces", nsA: "api-a", nsB: "api-b", shared: false, storeEntries: 2},
		{name: "namespace prefix of the other", nsA: "api", nsB: "api-b", shared: false, storeEntries: 2},
		{name: "same namespace: shared (twin)", nsA: "api-a", nsB: "api-a", shared: true, storeEntries: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := newMapStore()
			apiA := &backend{}
			apiB := &backend{answer: func(context.Context, string) (*tollgate.Principal, error) {
				return nil, invalid(tollgate.ErrInvalidToken, "aud")
			}}
			a := newCache(t, apiA, cache.Config{Store: store, Namespace: tt.nsA})
			b := newCache(t, apiB, cache.Config{Store: store, Namespace: tt.nsB})
			ctx := context.Background()
			if _, err := a.Validate(ctx, "tok"); err != nil {
				t.Fatalf("A: %v", err)
			}
			p, err := b.Validate(ctx, "tok")
			if tt.shared {
				if err != nil || p == nil || p.Subject() != "tok" || apiB.calls.Load() != 0 {
					t.Fatalf("B: %v, %v, %d calls; want A's cached principal", p, err, apiB.calls.Load())
				}
			} else {
				if p != nil {
					t.Fatalf("B served A's principal for %q", p.Subject())
				}
				wantCheck(t, err, tollgate.ErrInvalidToken, "aud")
				// And A still gets its own answer, not B's rejection.
				if p, err := a.Validate(ctx, "tok"); err != nil || p == nil {
					t.Fatalf("A after B: %v, %v", p, err)
				}
				if apiA.calls.Load() != 1 || apiB.calls.Load() != 1 {
					t.Fatalf("calls A %d, B %d; want 1 each", apiA.calls.Load(), apiB.calls.Load())
				}
			}
			if n := len(store.m); n != tt.storeEntries {
				t.Fatalf("store holds %d entries, want %d", n, tt.storeEntries)
			}
		})
	}
}
