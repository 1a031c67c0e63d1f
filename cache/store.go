package cache

import (
	"crypto/sha256"
	"math/rand/v2"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"github.com/tollgate/tollgate"
)

// Key is the key of a cache entry: the SHA-256 digest of the Cache's
// [Config.Namespace], a zero byte and the token. The raw token is never
// kept; a cryptographic hash (rather than a 64-bit one) makes sure that no
// two tokens share an entry, since a collision would hand one caller another
// caller's [tollgate.Principal], and the namespace that no two Caches
// sharing a [Store] do, unless they are configured to.
type Key [sha256.Size]byte

// Entry is one cached validation result, as a [Store] holds it: a
// [tollgate.Principal] for an accepted token, or the error for a rejected
// one. Entries are shared between requests and must not be modified once
// stored.
type Entry struct {
	// Principal is the result for an accepted token; nil for a rejection.
	Principal *tollgate.Principal
	// Err is the rejection (it matches tollgate.ErrInvalidToken), for a
	// negative entry.
	Err error
	// Expires is when the entry stops being served, by the Cache's clock.
	Expires time.Time
	// Generation is the value of [Config.Generation] when the validation
	// began; the entry is not served once the generation has moved on.
	Generation uint64

	// used is set by a hit and cleared by the eviction hand: entries in use
	// get a second chance before they are evicted (the CLOCK algorithm).
	used atomic.Bool
}

// Negative reports whether the entry is a cached rejection.
func (e *Entry) Negative() bool { return e.Principal == nil }

// Store is where a [Cache] keeps its entries. The default is an in-memory
// store of sharded go-cache maps, private to its Cache; the interface is
// small so that a shared store (Redis, say) can be added. Implementations
// are safe for concurrent use, and Get, the only method on the hot path,
// should neither allocate nor take an exclusive lock.
//
// The Cache enforces its entry caps itself (it evicts with Delete), checks
// each entry's Expires and Generation against its own clock, and calls
// DeleteExpired from its sweeper, so a Store is a plain map with expiry.
//
// A Store may be shared between Caches: each Cache's keys include its
// [Config.Namespace], which a Cache with a Store of its own must be given,
// so that Caches with different namespaces see disjoint sets of entries.
// Caches sharing a namespace share entries deliberately (replicas of one API
// behind one Redis, say): each serves what the others stored, and may evict
// it to keep its own caps. Their Generation functions, if any, must then
// agree, since an entry is served only under the generation it was stored
// with.
type Store interface {
	// Get returns the entry stored under key. It may return an entry whose
	// time is up: the Cache checks Expires itself.
	Get(key Key) (*Entry, bool)
	// Set stores e under key, replacing any entry there. ttl (> 0) is how
	// long the entry is worth keeping: the time until e.Expires.
	Set(key Key, e *Entry, ttl time.Duration)
	// Delete removes the entry stored under key, if any.
	Delete(key Key)
	// DeleteExpired frees the entries whose ttl has run out.
	DeleteExpired()
}

// memoryStore is the default Store: go-cache maps, each behind its own
// RWMutex, chosen by the first byte of the key (a SHA-256 digest, so spread
// evenly). One go-cache would make every core of a busy server take the same
// RWMutex on every request; shards keep the read lock's counter from
// bouncing between cores when requests carry different tokens.
//
// Many requests carry the same token, though (one busy client), and then
// every core would still take one shard's RWMutex. So each shard also has a
// hot slot, read without any lock: an entry that Get found in the map, put
// there now and then (1 in hotEvery lookups, so that shards whose tokens
// vary do not rewrite it on every hit). The slot is served only while the
// shard's version is the one read before the map lookup that found the
// entry: Set, Delete and DeleteExpired bump the version after changing the
// map, so the slot never answers for a key with an entry changed or removed
// since - Get stays a view of the map.
type memoryStore struct {
	shards []shard
	mask   byte
}

// hotEvery is how rarely (1 in hotEvery) a lookup that missed the hot slot
// refills it.
const hotEvery = 32

type shard struct {
	c       *gocache.Cache
	version atomic.Uint64
	hot     atomic.Pointer[hotEntry]
	// The version and the slot are read on every hit; keep each shard's on
	// cache lines of its own (two lines: adjacent-line prefetch).
	_ [128 - 24]byte
}

type hotEntry struct {
	key     Key
	e       *Entry
	version uint64
}

// newMemoryStore returns a store of n go-cache shards; n is a power of two
// between 1 and 256. The go-caches have no janitor goroutine (cleanup
// interval 0: theirs would only stop through a finalizer); the Cache's own
// sweeper calls DeleteExpired.
func newMemoryStore(n int) *memoryStore {
	s := &memoryStore{shards: make([]shard, n), mask: byte(n - 1)}
	for i := range s.shards {
		s.shards[i].c = gocache.New(gocache.NoExpiration, 0)
	}
	return s
}

func (s *memoryStore) shard(key *Key) *shard { return &s.shards[key[0]&s.mask] }

func (s *memoryStore) Get(key Key) (*Entry, bool) {
	sh := s.shard(&key)
	v := sh.version.Load()
	if h := sh.hot.Load(); h != nil && h.version == v && h.key == key {
		return h.e, true
	}
	// string(key[:]) does not escape go-cache's Get, so the conversion is
	// made on the stack: a hit does not allocate.
	x, ok := sh.c.Get(string(key[:]))
	if !ok {
		return nil, false
	}
	e, ok := x.(*Entry)
	if ok && rand.Uint32()%hotEvery == 0 {
		sh.hot.Store(&hotEntry{key: key, e: e, version: v})
	}
	return e, ok
}

func (s *memoryStore) Set(key Key, e *Entry, ttl time.Duration) {
	sh := s.shard(&key)
	sh.c.Set(string(key[:]), e, ttl)
	sh.version.Add(1)
}

func (s *memoryStore) Delete(key Key) {
	sh := s.shard(&key)
	sh.c.Delete(string(key[:]))
	sh.version.Add(1)
}

// DeleteExpired sweeps one shard at a time, so that no lock is held for
// longer than one shard's scan.
func (s *memoryStore) DeleteExpired() {
	for i := range s.shards {
		s.shards[i].c.DeleteExpired()
		s.shards[i].version.Add(1)
	}
}

// len returns the number of entries held, for tests.
func (s *memoryStore) len() int {
	n := 0
	for i := range s.shards {
		n += s.shards[i].c.ItemCount()
	}
	return n
}
