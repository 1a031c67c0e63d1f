package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate/tollgate"
)

// counts returns how many positive and negative entries the default store
// holds, expired or not: what occupies memory. (Items copies every shard;
// fine in a test, and the reason the Cache keeps its own count.)
func counts(t *testing.T, c *Cache) (positive, negative int) {
	t.Helper()
	s, ok := c.store.(*memoryStore)
	if !ok {
		t.Fatalf("store is %T, want the default", c.store)
	}
	// Entries are stored and evicted under c.mu: holding it makes the
	// count a snapshot.
	c.mu.Lock()
	defer c.mu.Unlock()
	// ItemCount counts expired entries too (they hold memory until swept);
	// Items, which tells the kinds apart, skips them.
	if total, cap := s.len(), c.positive.max+c.negative.max; total > cap {
		t.Errorf("store holds %d entries, more than the caps' sum %d", total, cap)
	}
	for i := range s.shards {
		for _, it := range s.shards[i].c.Items() {
			if it.Object.(*Entry).Negative() {
				negative++
			} else {
				positive++
			}
		}
	}
	return positive, negative
}

// countingValidator accepts the tokens in good, or all tokens when all is
// set, and rejects the others with a bad signature. It counts all calls, and
// those for each good token.
type countingValidator struct {
	good  map[string]*atomic.Int64
	all   bool
	total atomic.Int64
}

func newCountingValidator(all bool, good ...string) *countingValidator {
	v := &countingValidator{all: all, good: make(map[string]*atomic.Int64)}
	for _, tok := range good {
		v.good[tok] = new(atomic.Int64)
	}
	return v
}

func (v *countingValidator) Validate(_ context.Context, token string) (*tollgate.Principal, error) {
	v.total.Add(1)
	n, good := v.good[token]
	if good {
		n.Add(1)
	}
	if !v.all && !good {
		return nil, &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "signature"}
	}
	return tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: "user", ExpiresAt: time.Now().Add(time.Hour), Kind: tollgate.KindJWT}), nil
}

func (v *countingValidator) callsFor(token string) int64 { return v.good[token].Load() }

// randomTokens returns a source of distinct random tokens: 128 bits from a
// ChaCha8 stream seeded by crypto/rand (much cheaper than crypto/rand per
// token under the race detector), hex-encoded.
func randomTokens() func() string {
	var seed [32]byte
	rand.Read(seed[:])
	var mu sync.Mutex
	src := mrand.NewChaCha8(seed)
	return func() string {
		var b [16]byte
		mu.Lock()
		src.Read(b[:])
		mu.Unlock()
		return hex.EncodeToString(b[:])
	}
}

// TestFloodOfInvalidTokens: 100,000 distinct random tokens, far more than
// either cap, neither grow the cache past its caps nor push out an accepted
// token cached before the flood.
func TestFloodOfInvalidTokens(t *testing.T) {
	const (
		flood      = 100_000
		maxPos     = 1_000
		maxNeg     = 500
		goroutines = 4
	)
	good := "good-" + rand.Text()
	v := newCountingValidator(false, good)
	random := randomTokens()
	c, err := New(v, Config{MaxEntries: maxPos, MaxNegativeEntries: maxNeg, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Validate(ctx, good); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range flood / goroutines {
				if _, err := c.Validate(ctx, random()); err == nil {
					t.Error("random token accepted")
					return
				}
				if g == 0 && i%5_000 == 0 {
					if pos, neg := counts(t, c); pos > maxPos || neg > maxNeg {
						t.Errorf("during the flood: %d positive, %d negative entries; caps %d, %d", pos, neg, maxPos, maxNeg)
					}
				}
			}
		})
	}
	wg.Wait()

	if got := v.total.Load(); got != flood+1 {
		t.Fatalf("validator calls = %d, want %d (one per distinct token)", got, flood+1)
	}
	pos, neg := counts(t, c)
	if pos != 1 || neg != maxNeg {
		t.Fatalf("after the flood: %d positive, %d negative entries; want 1, %d", pos, neg, maxNeg)
	}
	if p, err := c.Validate(ctx, good); err != nil || p == nil {
		t.Fatalf("good token after the flood: %v, %v", p, err)
	}
	if n := v.callsFor(good); n != 1 {
		t.Fatalf("good token validated %d times, want 1 (served from cache after the flood)", n)
	}
}

// TestFloodOfValidTokens: even accepted tokens beyond MaxEntries keep the
// count within the cap; an entry in use survives (CLOCK gives it a second
// chance), while one left idle is evicted - its twin.
func TestFloodOfValidTokens(t *testing.T) {
	const (
		flood  = 20_000
		maxPos = 1_000
	)
	hot, idle := "hot-"+rand.Text(), "idle-"+rand.Text()
	v := newCountingValidator(true, hot, idle)
	random := randomTokens()
	c, err := New(v, Config{MaxEntries: maxPos, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for _, tok := range []string{hot, idle} {
		if _, err := c.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	for i := range flood {
		if _, err := c.Validate(ctx, random()); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 { // the hot token is used all along
			if _, err := c.Validate(ctx, hot); err != nil {
				t.Fatal(err)
			}
		}
		if i%2_000 == 0 {
			if pos, _ := counts(t, c); pos > maxPos {
				t.Fatalf("%d positive entries, cap %d", pos, maxPos)
			}
		}
	}
	if pos, neg := counts(t, c); pos != maxPos || neg != 0 {
		t.Fatalf("after the flood: %d positive, %d negative entries; want %d, 0", pos, neg, maxPos)
	}
	if n := v.callsFor(hot); n != 1 {
		t.Fatalf("hot token validated %d times, want 1", n)
	}
	if _, err := c.Validate(ctx, idle); err != nil {
		t.Fatal(err)
	}
	if n := v.callsFor(idle); n != 2 {
		t.Fatalf("idle token validated %d times, want 2 (evicted by the flood)", n)
	}
}

// TestKindsShareNoSlots: a token whose result changes kind (rejected, then
// accepted once its nbf has passed) is counted and evicted in the right set,
// and evicting a stale slot of the other kind never removes it.
func TestKindsShareNoSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var accept atomic.Bool
		v := tollgate.ValidatorFunc(func(_ context.Context, token string) (*tollgate.Principal, error) {
			if !accept.Load() {
				return nil, &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "nbf"}
			}
			return tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: token, ExpiresAt: time.Now().Add(time.Hour)}), nil
		})
		c, err := New(v, Config{MaxEntries: 2, MaxNegativeEntries: 2, SweepInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		c.Validate(ctx, "changing") // negative slot
		time.Sleep(DefaultNegativeTTL)
		accept.Store(true)
		if _, err := c.Validate(ctx, "changing"); err != nil { // positive now
			t.Fatal(err)
		}
		accept.Store(false)
		// Two more rejections push the stale negative slot of "changing"
		// out of the negative ring.
		c.Validate(ctx, "bad-1")
		c.Validate(ctx, "bad-2")
		if pos, neg := counts(t, c); pos != 1 || neg != 2 {
			t.Fatalf("%d positive, %d negative entries; want 1, 2", pos, neg)
		}
		if p, err := c.Validate(ctx, "changing"); err != nil || p == nil {
			t.Fatalf("accepted entry evicted by the negative ring: %v, %v", p, err)
		}
	})
}

func TestSweeperFreesExpiredEntries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newCountingValidator(true)
		c, err := New(v, Config{MaxTTL: 30 * time.Second, SweepInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for range 10 {
			c.Validate(context.Background(), rand.Text())
		}
		if pos, _ := counts(t, c); pos != 10 {
			t.Fatalf("%d entries, want 10", pos)
		}
		s := c.store.(*memoryStore)
		time.Sleep(time.Minute - time.Nanosecond)
		if n := s.len(); n != 10 {
			t.Fatalf("%d entries (expired) before the sweep, want 10", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if n := s.len(); n != 0 {
			t.Fatalf("%d entries after the sweep, want 0", n)
		}
	})
}

// TestKeyIsHash: the store holds SHA-256 digests (see TestKeyIsNamespacedHash),
// never the token.
func TestKeyIsHash(t *testing.T) {
	c, err := New(newCountingValidator(true), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	token := "secret-token-" + rand.Text()
	c.Validate(context.Background(), token)
	s := c.store.(*memoryStore)
	for i := range s.shards {
		for k := range s.shards[i].c.Items() {
			if len(k) != 32 || k == token {
				t.Fatalf("store key %q is not a SHA-256 digest", k)
			}
		}
	}
	if s.len() != 1 {
		t.Fatalf("store holds %d entries, want 1", s.len())
	}
}
