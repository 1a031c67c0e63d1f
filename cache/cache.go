package cache

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/tollgate/tollgate"
)

// The defaults of [Config].
const (
	DefaultMaxTTL             = 5 * time.Minute
	DefaultNegativeTTL        = 10 * time.Second
	DefaultMaxEntries         = 100_000
	DefaultMaxNegativeEntries = 10_000
	DefaultCallTimeout        = 10 * time.Second
	DefaultSweepInterval      = time.Minute
	DefaultName               = "cache"
)

// MaxTokenBytes is the length above which a token bypasses the cache: it goes
// straight to the wrapped Validator, is neither hashed nor cached nor
// coalesced. Hashing is the one cost the cache pays before the wrapped
// Validator could reject an oversized token; tokens this long are not
// access tokens anyone issues (the JWT validator's own limit is 16 KiB too).
const MaxTokenBytes = 16 << 10

// storeShards is the number of go-cache shards of the default store. With a
// SHA-256 key the shards fill evenly; 64 keeps two cores, or sixteen, from
// meeting on one RWMutex when requests carry different tokens (and the hot
// slots keep them apart when requests carry the same one).
const storeShards = 64

// Config configures a [Cache]. The zero value caches accepted tokens for up
// to 5 minutes (100,000 entries) and rejections for 10 seconds (10,000
// entries), with a 10-second timeout on the calls to the wrapped Validator
// and a sweep of expired entries every minute. Durations and sizes: 0 means
// the default, a negative value turns the feature off.
type Config struct {
	// Name names the cache in [tollgate.CacheEvent] ("jwt", "introspection";
	// default "cache").
	Name string

	// MaxTTL bounds how long an accepted token is served from the cache: an
	// entry lives until the earlier of the principal's ExpiresAt and MaxTTL
	// after it was validated (default 5 minutes; negative: accepted tokens
	// are not cached). It is the revocation latency: a token revoked at the
	// authorization server, or a key withdrawn without a generation change,
	// is still accepted for up to MaxTTL.
	MaxTTL time.Duration

	// Expiry, if set, bounds how long an accepted token is served, for a
	// wrapped Validator whose acceptance can end before the token's
	// ExpiresAt: a maximum token age, say. It is called with each accepted
	// principal before it is stored and returns the instant from which the
	// wrapped Validator may stop accepting the token: the entry is not
	// served at or after it. The zero time means no bound beyond ExpiresAt
	// and MaxTTL; an instant already past means the principal is not
	// cached. The JWT validator sets it (iat + MaxAge + Leeway for an
	// issuer with a MaxAge), so that a cached answer never outlives the one
	// the validator would give.
	Expiry func(p *tollgate.Principal) time.Time

	// NegativeTTL is how long a rejection (an error matching
	// tollgate.ErrInvalidToken, including tollgate.ErrExpired) is served
	// from the cache (default 10 seconds; negative: rejections are not
	// cached). Rejections for an unknown key ID (Check "kid"),
	// tollgate.ErrUnavailable and context errors are never cached. A
	// rejection that time lifts - a token not yet valid ("nbf"), or issued
	// in the future ("iat") - is served for NegativeTTL all the same, so
	// such a token may be refused for up to NegativeTTL after it becomes
	// valid, never longer.
	NegativeTTL time.Duration

	// MaxEntries caps the number of accepted tokens held (default 100,000;
	// negative: accepted tokens are not cached). When the cap is reached a
	// new entry evicts an old one, sparing entries served recently.
	MaxEntries int

	// MaxNegativeEntries caps the number of rejections held, separately from
	// MaxEntries so that a flood of invalid tokens cannot push accepted
	// tokens out (default 10,000; negative: rejections are not cached).
	MaxNegativeEntries int

	// CallTimeout bounds each call to the wrapped Validator (default 10
	// seconds). Concurrent misses for one token share a single call, which
	// runs with a context of its own: the first caller's values, without
	// its cancellation, with this timeout. So one caller giving up does not
	// fail the others. It may not be negative: the call needs a bound.
	CallTimeout time.Duration

	// Generation, if set, is read on every lookup: entries stored under
	// another generation are not served. A key set whose refresh removes or
	// replaces a key changes its generation, so that tokens validated with
	// the withdrawn key are validated again at once.
	Generation func() uint64

	// SweepInterval is how often a background goroutine frees expired
	// entries (default one minute; negative: never, expired entries then
	// stay until evicted, within the caps). [Cache.Close] stops it.
	SweepInterval time.Duration

	// Now is the clock against which entries expire (default time.Now).
	Now func() time.Time

	// Observer receives OnCacheHit and OnCacheMiss.
	Observer tollgate.Observer

	// Store holds the entries (default: an in-memory store of sharded
	// go-cache maps, private to this Cache). A Store of your own requires a
	// Namespace.
	Store Store

	// Namespace separates this Cache's entries from those of other Caches
	// using the same Store: entries are keyed by the SHA-256 of the
	// namespace, a zero byte and the token, so caches with different
	// namespaces never serve each other's answers. With the default Store
	// it may be left empty, and New then picks a random one. With a Store
	// of your own it is required (New refuses an empty one): give the same
	// namespace only to caches whose wrapped Validators answer alike for
	// every token - replicas of one API, with the same configuration and
	// key sets - and a different one to anything else: another API (its
	// audience differs), a JWT validator and an introspection client. At
	// most 256 bytes, without a zero byte.
	Namespace string
}

// maxNamespaceLen bounds Config.Namespace, which is hashed with every token.
const maxNamespaceLen = 256

// Cache is a [tollgate.Validator] that remembers the results of another
// Validator; see the package documentation. Its methods are safe for
// concurrent use.
type Cache struct {
	next        tollgate.Validator
	name        string
	maxTTL      time.Duration // <= 0: accepted tokens not cached
	negativeTTL time.Duration // <= 0: rejections not cached
	callTimeout time.Duration
	generation  func() uint64
	expiry      func(*tollgate.Principal) time.Time
	now         func() time.Time
	onHit       func(context.Context, tollgate.CacheEvent)
	onMiss      func(context.Context, tollgate.CacheEvent)
	store       Store

	// prefix is the namespace and a zero byte, hashed before the token;
	// hashers holds SHA-256 states for it, reused so that a hit does not
	// allocate.
	prefix  []byte
	hashers sync.Pool

	// closing is cancelled by Close: it ends the sweeper and the calls in
	// flight.
	closing context.Context
	stop    context.CancelFunc
	workers sync.WaitGroup // the sweeper and the calls in flight

	mu       sync.Mutex // guards what follows; taken only on a miss
	closed   bool
	calls    map[Key]*call
	positive *clock // nil when accepted tokens are not cached
	negative *clock // nil when rejections are not cached
}

// call is one call to the wrapped Validator, shared by every caller that
// missed on the same token while it ran.
type call struct {
	done       chan struct{} // closed when p, err and panicked are set
	generation uint64
	p          *tollgate.Principal
	err        error
	panicked   any
}

// New returns a Cache in front of next. It starts the sweeper goroutine
// (unless cfg.SweepInterval is negative); call [Cache.Close] to stop it.
func New(next tollgate.Validator, cfg Config) (*Cache, error) {
	if next == nil {
		return nil, errors.New("cache: no validator to wrap")
	}
	if cfg.CallTimeout < 0 {
		return nil, fmt.Errorf("cache: negative CallTimeout %v: the call to the validator needs a bound", cfg.CallTimeout)
	}
	ns := cfg.Namespace
	switch {
	case ns == "" && cfg.Store != nil:
		return nil, errors.New("cache: a Store of your own needs a Namespace, so that caches sharing it do not serve each other's answers")
	case ns == "":
		ns = rand.Text() // the default Store is private: any namespace of its own will do
	case len(ns) > maxNamespaceLen:
		return nil, fmt.Errorf("cache: Namespace of %d bytes, more than %d", len(ns), maxNamespaceLen)
	case strings.IndexByte(ns, 0) >= 0:
		return nil, errors.New("cache: Namespace contains a zero byte, which ends it in the hashed key")
	}
	c := &Cache{
		next:        next,
		name:        cfg.Name,
		maxTTL:      orDefault(cfg.MaxTTL, DefaultMaxTTL),
		negativeTTL: orDefault(cfg.NegativeTTL, DefaultNegativeTTL),
		callTimeout: orDefault(cfg.CallTimeout, DefaultCallTimeout),
		generation:  cfg.Generation,
		expiry:      cfg.Expiry,
		now:         cfg.Now,
		onHit:       cfg.Observer.OnCacheHit,
		onMiss:      cfg.Observer.OnCacheMiss,
		store:       cfg.Store,
		prefix:      append([]byte(ns), 0),
		calls:       make(map[Key]*call),
	}
	c.hashers.New = func() any { return &hasher{h: sha256.New()} }
	if c.name == "" {
		c.name = DefaultName
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.store == nil {
		c.store = newMemoryStore(storeShards)
	}
	if n := orDefault(cfg.MaxEntries, DefaultMaxEntries); n > 0 && c.maxTTL > 0 {
		c.positive = newClock(n, false)
	}
	if n := orDefault(cfg.MaxNegativeEntries, DefaultMaxNegativeEntries); n > 0 && c.negativeTTL > 0 {
		c.negative = newClock(n, true)
	}
	c.closing, c.stop = context.WithCancel(context.Background())
	if every := orDefault(cfg.SweepInterval, DefaultSweepInterval); every > 0 {
		c.workers.Add(1)
		go c.sweep(every)
	}
	return c, nil
}

func orDefault[T time.Duration | int](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Validate returns the cached result for token if there is one, and
// otherwise asks the wrapped Validator, sharing one call between concurrent
// callers with the same token. A caller whose ctx ends while it waits gets
// tollgate.ErrUnavailable (Check "context") at once; the call goes on for
// the others.
//
// A cached rejection returns the same error value to every caller: treat it
// as read-only.
func (c *Cache) Validate(ctx context.Context, token string) (*tollgate.Principal, error) {
	if len(token) > MaxTokenBytes {
		return c.next.Validate(ctx, token)
	}
	key := c.key(token)
	var gen uint64
	if c.generation != nil {
		gen = c.generation()
	}
	if e, ok := c.store.Get(key); ok && e.Generation == gen && c.now().Before(e.Expires) {
		if !e.used.Load() { // a load, not a store, on every hit: no cache line ping-pong
			e.used.Store(true)
		}
		if c.onHit != nil {
			c.onHit(ctx, tollgate.CacheEvent{Cache: c.name, Negative: e.Negative()})
		}
		if e.Negative() {
			return nil, e.Err
		}
		return e.Principal, nil
	}
	return c.miss(ctx, key, token, gen)
}

// hasher is a SHA-256 state and room for its sum, pooled: a hash.Hash made
// for each lookup, or a sum written to the caller's stack through the
// interface, would be allocated on the heap.
type hasher struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// key returns the key of token's entry: SHA-256(namespace || 0 || token).
func (c *Cache) key(token string) Key {
	hs := c.hashers.Get().(*hasher)
	hs.h.Reset()
	hs.h.Write(c.prefix)
	// The hash reads the token without keeping or changing it; viewing the
	// string's bytes in place saves copying the token on every request.
	hs.h.Write(unsafe.Slice(unsafe.StringData(token), len(token)))
	hs.h.Sum(hs.sum[:0])
	key := Key(hs.sum)
	c.hashers.Put(hs)
	return key
}

// miss joins the call in flight for key, or starts one, and waits for its
// result or for ctx to end.
func (c *Cache) miss(ctx context.Context, key Key, token string, gen uint64) (*tollgate.Principal, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "cache", Detail: "cache closed"}
	}
	cl, joined := c.calls[key]
	// A call that began under an older generation may be using a key that
	// has since been withdrawn: its callers get its result, later ones a
	// fresh call.
	if !joined || cl.generation != gen {
		joined = false
		cl = &call{done: make(chan struct{}), generation: gen}
		c.calls[key] = cl
		c.workers.Add(1)
		go c.run(context.WithoutCancel(ctx), key, token, cl)
	}
	c.mu.Unlock()
	if c.onMiss != nil {
		c.onMiss(ctx, tollgate.CacheEvent{Cache: c.name, Coalesced: joined})
	}
	select {
	case <-cl.done:
		if cl.panicked != nil {
			// As if the caller had called the validator itself: the
			// panic surfaces in the request's goroutine, where the
			// server's recovery (net/http's, say) deals with it.
			panic(cl.panicked)
		}
		return cl.p, cl.err
	case <-ctx.Done():
		return nil, contextError(ctx.Err())
	}
}

func contextError(err error) error {
	return &tollgate.Error{
		Kind:   tollgate.ErrUnavailable,
		Check:  "context",
		Detail: "request ended before the token was validated",
		Err:    err,
	}
}

// run makes the call to the wrapped Validator for cl, stores its result and
// hands it to the waiters. base carries the first caller's values but not
// its cancellation.
func (c *Cache) run(base context.Context, key Key, token string, cl *call) {
	defer c.workers.Done()
	ctx, cancel := context.WithTimeout(base, c.callTimeout)
	defer cancel()
	stop := context.AfterFunc(c.closing, cancel)
	defer stop()

	returned := false
	defer func() {
		if r := recover(); r != nil {
			cl.panicked = r
		} else if !returned { // runtime.Goexit in the validator
			cl.p, cl.err = nil, &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "cache", Detail: "validator did not return"}
		}
		// The entry is stored before the call leaves the map, so a caller
		// arriving now finds one or the other.
		c.mu.Lock()
		if c.calls[key] == cl {
			delete(c.calls, key)
		}
		c.mu.Unlock()
		close(cl.done)
	}()

	p, err := c.next.Validate(ctx, token)
	returned = true
	switch {
	case err != nil:
		p = nil
	case p == nil:
		err = &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "cache", Detail: "validator returned neither a principal nor an error"}
	}
	cl.p, cl.err = p, err
	c.remember(key, cl)
}

// remember stores the result of cl, if it may be cached.
func (c *Cache) remember(key Key, cl *call) {
	if c.generation != nil && c.generation() != cl.generation {
		return // a key was withdrawn during the call
	}
	now := c.now()
	var (
		expires time.Time
		ring    *clock
	)
	switch {
	case cl.err == nil:
		expires = now.Add(c.maxTTL)
		if exp := cl.p.ExpiresAt(); !exp.IsZero() && exp.Before(expires) {
			expires = exp
		}
		if c.expiry != nil {
			if end := c.expiry(cl.p); !end.IsZero() && end.Before(expires) {
				expires = end
			}
		}
		ring = c.positive
	case negativelyCacheable(cl.err):
		expires = now.Add(c.negativeTTL)
		ring = c.negative
	}
	if ring == nil || !now.Before(expires) {
		return
	}
	e := &Entry{Principal: cl.p, Err: cl.err, Expires: expires, Generation: cl.generation}
	c.mu.Lock()
	defer c.mu.Unlock()
	ring.admit(key, c.store, c.alive)
	c.store.Set(key, e, expires.Sub(now))
}

// alive reports whether e would still be served.
func (c *Cache) alive(e *Entry) bool {
	if c.generation != nil && c.generation() != e.Generation {
		return false
	}
	return c.now().Before(e.Expires)
}

// negativelyCacheable reports whether err is a rejection that the same
// token would get again: an invalid or expired token. It is not when the
// decision could not be made (ErrUnavailable, a context error), or when the
// token's key ID was unknown, since the key may arrive with the next
// refetch of the key set.
func negativelyCacheable(err error) bool {
	if !errors.Is(err, tollgate.ErrInvalidToken) ||
		errors.Is(err, tollgate.ErrUnavailable) ||
		errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return !anyCheck(err, "kid")
}

// anyCheck reports whether any [*tollgate.Error] in err's tree (not only the
// first, as errors.As would find) names check.
func anyCheck(err error, check string) bool {
	switch e := err.(type) {
	case nil:
		return false
	case *tollgate.Error:
		if e.Check == check {
			return true
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return anyCheck(u.Unwrap(), check)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if anyCheck(e, check) {
				return true
			}
		}
	}
	return false
}

// sweep frees expired entries every interval until Close.
func (c *Cache) sweep(every time.Duration) {
	defer c.workers.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.closing.Done():
			return
		case <-t.C:
			c.store.DeleteExpired()
		}
	}
}

// Close stops the sweeper and cancels the calls in flight, and returns once
// they have ended. Entries already cached are still served after Close; a
// miss fails with tollgate.ErrUnavailable. Close is idempotent and always
// returns nil.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stop()
	c.workers.Wait()
	return nil
}
