package cache

import (
	"crypto/sha256"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// hotStore returns a one-shard store whose hot slot holds key's entry.
func hotStore(t *testing.T, key Key, e *Entry) *memoryStore {
	t.Helper()
	s := newMemoryStore(1)
	s.Set(key, e, time.Hour)
	for range 100 * hotEvery {
		if s.shards[0].hot.Load() != nil {
			return s
		}
		s.Get(key)
	}
	t.Fatal("hot slot never filled")
	return nil
}

func TestHotSlotServesWithoutTheMap(t *testing.T) {
	key := Key(sha256.Sum256([]byte("tok")))
	e := &Entry{}
	s := hotStore(t, key, e)
	// Remove the entry behind the store's back (no version bump): only
	// the slot can still answer.
	s.shards[0].c.Delete(string(key[:]))
	if got, ok := s.Get(key); !ok || got != e {
		t.Fatalf("Get = %v, %v; want the hot entry", got, ok)
	}
	// Another key in the same shard is not answered by the slot.
	other := Key(sha256.Sum256([]byte("other")))
	if _, ok := s.Get(other); ok {
		t.Fatal("hot slot answered for another key")
	}
}

func TestHotSlotFollowsTheMap(t *testing.T) {
	key := Key(sha256.Sum256([]byte("tok")))
	for _, tt := range []struct {
		name   string
		change func(s *memoryStore) *Entry // returns what Get must return (nil: nothing)
	}{
		{name: "Delete", change: func(s *memoryStore) *Entry { s.Delete(key); return nil }},
		{name: "Set", change: func(s *memoryStore) *Entry { e := &Entry{}; s.Set(key, e, time.Hour); return e }},
		{name: "DeleteExpired", change: func(s *memoryStore) *Entry {
			s.Set(key, &Entry{}, time.Nanosecond)
			time.Sleep(time.Millisecond)
			s.DeleteExpired()
			return nil
		}},
		{name: "Set of another key in the shard", change: func(s *memoryStore) *Entry {
			s.Set(Key(sha256.Sum256([]byte("other"))), &Entry{}, time.Hour)
			e, _ := s.Get(key)
			return e
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { // go-cache's expiry runs on the fake clock
				s := hotStore(t, key, &Entry{})
				want := tt.change(s)
				got, ok := s.Get(key)
				if want == nil {
					if ok {
						t.Fatalf("Get after %s = %p, want nothing", tt.name, got)
					}
					return
				}
				if !ok || got != want {
					t.Fatalf("Get after %s = %p, %v; want %p", tt.name, got, ok, want)
				}
			})
		})
	}
}

// TestHotSlotUnderConcurrency: readers hammer one key while it is deleted
// and set again; once a Delete has returned, no Get that starts after it
// may find the entry.
func TestHotSlotUnderConcurrency(t *testing.T) {
	key := Key(sha256.Sum256([]byte("tok")))
	s := newMemoryStore(1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					s.Get(key)
				}
			}
		})
	}
	for range 2_000 {
		s.Set(key, &Entry{}, time.Hour)
		for range hotEvery {
			s.Get(key)
		}
		s.Delete(key)
		if e, ok := s.Get(key); ok {
			t.Fatalf("Get after Delete found %p", e)
		}
	}
	close(stop)
	wg.Wait()
}

// TestKeyIsNamespacedHash: the key is SHA-256(namespace || 0 || token), and
// a Cache with the default Store gets a namespace of its own.
func TestKeyIsNamespacedHash(t *testing.T) {
	a, err := New(newCountingValidator(true), Config{Namespace: "api-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if want := Key(sha256.Sum256([]byte("api-a\x00tok"))); a.key("tok") != want {
		t.Fatalf("key %x, want SHA-256(namespace, 0, token) %x", a.key("tok"), want)
	}
	if a.key("tok") == Key(sha256.Sum256([]byte("tok"))) {
		t.Fatal("key is the bare SHA-256 of the token")
	}
	// Twin: the key does not depend on anything but namespace and token.
	if a.key("tok") != a.key("tok") || a.key("tok") == a.key("tok2") {
		t.Fatal("key not a function of the token")
	}

	b, err := New(newCountingValidator(true), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := New(newCountingValidator(true), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if string(b.prefix) == string(c.prefix) || len(b.prefix) < 17 || b.key("tok") == c.key("tok") {
		t.Fatalf("two caches with the default store share namespace %q", b.prefix)
	}
}
