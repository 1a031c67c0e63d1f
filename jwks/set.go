package jwks

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/internal/metadata"
	"github.com/tollgate/tollgate/internal/netpolicy"
)

// Set is one JWK Set: from a URL, from an issuer's discovery document, or a
// fixed list of keys. It implements the validator's KeySet: [Set.Lookup] is
// a map read on an immutable snapshot, and everything that fetches happens
// behind it, rate-limited and coalesced. Its methods are safe for concurrent
// use. A Set that fetches owns goroutines once started: [Set.Close] stops them.
type Set struct {
	cfg    settings
	client *http.Client
	owned  bool              // client is ours: close its idle connections on Close
	meta   *metadata.Fetcher // the issuer's metadata; nil without Issuer
	now    func() time.Time

	snap atomic.Pointer[snapshot]

	ctx    context.Context // ends on Close; every fetch runs under it
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{} // a fetch finished: the loop recomputes its timer

	mu          sync.Mutex
	closed      bool
	looping     bool
	inflight    *call
	lastAttempt time.Time // start of the last fetch of any kind
	lastForced  time.Time // start of the last fetch triggered by an unknown key ID: the rate limit
	lastOK      bool      // whether the last finished fetch succeeded
	lastErr     error
	failures    int       // consecutive failed fetches, for the backoff
	next        time.Time // when the background loop fetches next
	discovered  string    // jwks_uri from the issuer's metadata
	gen         uint64
}

// snapshot is what lookups read: never modified once published. When the
// stale limit passes, the background loop publishes a copy marked stale, so
// that the hot path tests a flag instead of reading the clock.
type snapshot struct {
	byKID   map[string][]*Key
	all     []*Key
	gen     uint64
	staleAt time.Time // zero: never
	stale   bool
}

func (s *snapshot) fresh() bool { return s != nil && !s.stale }

// call is one fetch, which any number of callers may wait for.
type call struct {
	done   chan struct{}
	forced bool
	err    error // set before done is closed
}

// New returns a Set configured by cfg, or an error if cfg is not valid. It
// does not fetch: [Set.Start] does, or else the first lookup.
func New(cfg Config) (*Set, error) {
	st, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	s := &Set{cfg: st, now: st.Now, wake: make(chan struct{}, 1)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if st.static {
		s.snap.Store(newSnapshot(st.Keys, 0, time.Time{}))
		return s, nil
	}
	if cfg.InsecureAllowHTTP {
		st.Logger.Warn("tollgate: jwks: InsecureAllowHTTP is set: keys may be fetched over plain http", "source", st.display)
	}
	if cfg.HTTPClient != nil {
		s.client = netpolicy.Client(cfg.HTTPClient, netpolicy.FollowSecure(cfg.InsecureAllowHTTP))
	} else {
		s.client = netpolicy.Client(netpolicy.NewClient(), netpolicy.FollowSecure(cfg.InsecureAllowHTTP))
		s.owned = true
	}
	if st.discoveryURLs != nil {
		s.meta = &metadata.Fetcher{Client: s.client, Issuer: st.issuer, MaxBytes: st.MaxBodyBytes, AllowHTTP: st.InsecureAllowHTTP}
	}
	return s, nil
}

func newSnapshot(keys []*Key, gen uint64, staleAt time.Time) *snapshot {
	snap := &snapshot{byKID: make(map[string][]*Key, len(keys)), all: slices.Clip(slices.Clone(keys)), gen: gen, staleAt: staleAt}
	for _, k := range snap.all {
		snap.byKID[k.id] = append(snap.byKID[k.id], k)
	}
	for kid, ks := range snap.byKID {
		snap.byKID[kid] = slices.Clip(ks)
	}
	return snap
}

// Lookup returns the keys whose ID is kid. For a known ID it is a map read
// without allocation. For an unknown one it refetches the set at once, at
// most once per [Config.MinRefetchInterval], sharing one fetch between
// concurrent callers and never waiting longer than that fetch; inside the
// interval it answers at once from the keys held. The error is a
// [*tollgate.Error]:
//
//   - Kind [tollgate.ErrInvalidToken], Check "kid": the ID is still unknown
//     after a successful fetch (or the last fetch succeeded and the next is
//     not yet allowed). The key may arrive later, so a cache must not keep
//     this answer (the validator's cache skips Check "kid").
//   - Kind [tollgate.ErrUnavailable], Check "jwks": no usable keys (never
//     loaded, or stale), the fetch failed (or the last one failed and the
//     next is not yet allowed: a rotation during an outage must not turn
//     new tokens into invalid ones), ctx ended, or the set is closed.
func (s *Set) Lookup(ctx context.Context, kid string) ([]*Key, error) {
	if snap := s.snap.Load(); snap != nil {
		if ks, ok := snap.byKID[kid]; ok && !snap.stale {
			return ks, nil
		}
	}
	return s.lookupSlow(ctx, kid)
}

func (s *Set) lookupSlow(ctx context.Context, kid string) ([]*Key, error) {
	if s.cfg.static {
		return nil, errUnknownKID()
	}
	if c := s.begin(true); c != nil {
		if err := s.wait(ctx, c); err != nil {
			return nil, err
		}
	}
	snap := s.snap.Load()
	if snap.fresh() {
		if ks, ok := snap.byKID[kid]; ok {
			return ks, nil
		}
	}
	return nil, s.explain(snap)
}

// Keys returns every key held, for tokens without a key ID. If none are
// (never loaded, or stale) it tries one fetch, under the same rate limit as
// [Set.Lookup], and otherwise returns [tollgate.ErrUnavailable] with Check
// "jwks". The slice is shared: callers must not modify it.
func (s *Set) Keys(ctx context.Context) ([]*Key, error) {
	if snap := s.snap.Load(); snap.fresh() {
		return snap.all, nil
	}
	if c := s.begin(true); c != nil {
		if err := s.wait(ctx, c); err != nil {
			return nil, err
		}
	}
	snap := s.snap.Load()
	if snap.fresh() {
		return snap.all, nil
	}
	return nil, s.explain(snap)
}

// Ready reports whether the set holds usable keys: loaded and not stale.
// A server's readiness probe can use it.
func (s *Set) Ready() bool { return s.snap.Load().fresh() }

// Generation changes whenever a refresh removes or replaces a key, or the
// keys go stale, so that results obtained with a withdrawn key (cached
// validations) can be dropped. Adding keys does not change it.
func (s *Set) Generation() uint64 {
	if snap := s.snap.Load(); snap != nil {
		return snap.gen
	}
	return 0
}

// Start fetches the set for the first time and starts the background
// refresh. It returns when that first fetch ends or ctx does; a failure is
// returned as [tollgate.ErrUnavailable], but the set keeps retrying in the
// background, so a server can start while the authorization server is down
// and recover without restart ([Set.Ready] tells when). For a static set it
// does nothing.
func (s *Set) Start(ctx context.Context) error {
	if s.cfg.static {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errUnavailable("key set closed", nil)
	}
	s.startLoopLocked()
	c := s.beginLocked(false)
	lastErr := s.lastErr
	s.mu.Unlock()
	if c == nil {
		// A fetch finished moments ago; report how it went.
		if s.Ready() {
			return nil
		}
		return errUnavailable("first fetch of the key set failed; retrying in the background", lastErr)
	}
	if err := s.wait(ctx, c); err != nil {
		return err
	}
	if c.err != nil {
		return errUnavailable("first fetch of the key set failed; retrying in the background", c.err)
	}
	return nil
}

// Close stops the background refresh and any fetch in flight, and waits for
// them to end. Keys already held stay readable, for requests still running
// during a shutdown (they no longer go stale); an unknown key ID is then
// answered with [tollgate.ErrUnavailable]. Close always returns nil.
func (s *Set) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	if s.owned {
		s.client.CloseIdleConnections()
	}
	return nil
}

// begin returns the fetch in flight, or a new one when the rate limit
// allows it, or nil.
func (s *Set) begin(forced bool) *call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.beginLocked(forced)
}

// explain says why a lookup found nothing in snap: not loaded, stale,
// closed, failing, or an unknown key ID.
func (s *Set) explain(snap *snapshot) error {
	s.mu.Lock()
	closed, lastOK, lastErr := s.closed, s.lastOK, s.lastErr
	s.mu.Unlock()
	switch {
	case snap == nil:
		return errUnavailable("keys not loaded", lastErr)
	case snap.stale:
		return errUnavailable("keys are stale: no successful fetch within the stale limit", lastErr)
	case closed:
		return errUnavailable("key set closed", nil)
	case !lastOK:
		return errUnavailable("unknown key ID and the last fetch of the key set failed", lastErr)
	}
	return errUnknownKID()
}

func (s *Set) wait(ctx context.Context, c *call) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return errUnavailable("gave up waiting for the key set", ctx.Err())
	}
}

// beginLocked is begin with s.mu held.
func (s *Set) beginLocked(forced bool) *call {
	if s.closed {
		return nil
	}
	if s.inflight != nil {
		return s.inflight
	}
	now := s.now()
	// Tokens can trigger fetches, so those are limited against each other;
	// a background refresh keeps its distance from any fetch.
	last := s.lastAttempt
	if forced {
		last = s.lastForced
	}
	if !last.IsZero() && now.Sub(last) < s.cfg.MinRefetchInterval {
		return nil
	}
	c := &call{done: make(chan struct{}), forced: forced}
	s.inflight, s.lastAttempt = c, now
	if forced {
		s.lastForced = now
	}
	s.startLoopLocked()
	s.wg.Add(1)
	go s.run(c)
	return c
}

// startLoopLocked starts the background refresh once; the first fetch,
// from Start or from a lookup, starts it too, so that a set used without
// Start still refreshes.
func (s *Set) startLoopLocked() {
	if s.looping || s.closed {
		return
	}
	s.looping = true
	s.wg.Add(1)
	go s.loop()
}

func (s *Set) loop() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		now := s.now()
		s.markStaleLocked(now)
		wait := time.Duration(math.MaxInt64) // a fetch in flight wakes us
		if s.inflight == nil && !now.Before(s.next) {
			if s.beginLocked(false) == nil {
				if s.closed {
					s.mu.Unlock()
					return
				}
				// A fetch started moments ago: come back when the limit allows.
				s.next = s.lastAttempt.Add(s.cfg.MinRefetchInterval)
			}
		}
		if s.inflight == nil {
			wait = s.next.Sub(now)
		}
		if snap := s.snap.Load(); snap != nil && !snap.stale && !snap.staleAt.IsZero() {
			wait = min(wait, snap.staleAt.Sub(now))
		}
		s.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-s.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// markStaleLocked publishes the held keys marked stale once the stale limit
// has passed, with a new generation.
func (s *Set) markStaleLocked(now time.Time) {
	snap := s.snap.Load()
	if snap == nil || snap.stale || snap.staleAt.IsZero() || now.Before(snap.staleAt) {
		return
	}
	s.gen++
	stale := *snap
	stale.stale, stale.gen = true, s.gen
	s.snap.Store(&stale)
}

// run performs one fetch, publishes its result and reports it.
func (s *Set) run(c *call) {
	defer s.wg.Done()
	start := s.now()
	r := s.fetch(c.forced)
	now := s.now()

	s.mu.Lock()
	held := s.snap.Load()
	ev := tollgate.KeyFetchEvent{URL: r.url, Forced: c.forced, Status: r.status, Duration: now.Sub(start)}
	if r.err == nil {
		var removed bool
		ev.Added, ev.Removed, removed = diff(held, r.keys)
		if removed || (held != nil && held.stale) {
			s.gen++
		}
		var staleAt time.Time
		if s.cfg.StaleLimit > 0 {
			staleAt = now.Add(s.cfg.StaleLimit)
		}
		s.snap.Store(newSnapshot(r.keys, s.gen, staleAt))
		s.lastOK, s.lastErr, s.failures = true, nil, 0
		s.next = now.Add(s.refreshInterval(r.header))
		ev.Keys = len(r.keys)
	} else {
		s.lastOK, s.lastErr = false, r.err
		s.failures++
		s.next = now.Add(s.backoff())
		s.discovered = "" // read the metadata again: the jwks_uri may have moved
		if held != nil {
			ev.Keys = len(held.all)
		}
		ev.Err = r.err
	}
	c.err = r.err
	s.inflight = nil
	s.mu.Unlock()

	// Report before waking the waiters, so that an observer has seen the
	// fetch by the time a lookup returns its result.
	o := s.cfg.Observer
	if o.OnKeySkipped != nil {
		for _, sk := range r.skipped {
			o.OnKeySkipped(s.ctx, tollgate.KeySkippedEvent{URL: r.url, KeyID: sk.KeyID, Reason: sk.Reason})
		}
	}
	if r.err == nil && o.OnKeyFetch != nil {
		o.OnKeyFetch(s.ctx, ev)
	}
	if r.err != nil && o.OnKeyFetchFailure != nil && s.ctx.Err() == nil { // Close is no failure
		o.OnKeyFetchFailure(s.ctx, ev)
	}
	close(c.done)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// refreshInterval is the time until the next background fetch after a
// success: Cache-Control max-age within [min, max], else max; jittered.
func (s *Set) refreshInterval(h http.Header) time.Duration {
	lo, hi := s.cfg.MinRefreshInterval, s.cfg.MaxRefreshInterval
	d := hi
	if age, ok := maxAge(h); ok {
		d = min(max(age, lo), hi)
	}
	return jitter(d, lo)
}

// backoff is the time until the next background fetch after failures:
// MinRefetchInterval doubling up to MinRefreshInterval; jittered.
func (s *Set) backoff() time.Duration {
	base := s.cfg.MinRefetchInterval
	ceiling := max(s.cfg.MinRefreshInterval, base)
	d := base
	for i := 1; i < s.failures && d < ceiling; i++ {
		d *= 2
	}
	return jitter(min(d, ceiling), base)
}

// jitter shortens d by up to a tenth, never below floor.
func jitter(d, floor time.Duration) time.Duration {
	if d <= floor || d/10 <= 0 {
		return d
	}
	return max(d-rand.N(d/10), floor)
}

// diff lists the key IDs a fetch adds and removes (a replaced key is both)
// and reports whether any key held before is gone or changed.
func diff(held *snapshot, keys []*Key) (added, removed []string, changed bool) {
	next := make(map[string][]*Key, len(keys))
	for _, k := range keys {
		next[k.id] = append(next[k.id], k)
	}
	var before map[string][]*Key
	if held != nil {
		before = held.byKID
	}
	for kid, old := range before {
		if ks, ok := next[kid]; !ok || !sameKeys(old, ks) {
			removed = append(removed, kid)
			changed = true
			if ok {
				added = append(added, kid)
			}
		}
	}
	for kid := range next {
		if _, ok := before[kid]; !ok {
			added = append(added, kid)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed, changed
}

// sameKeys reports whether a and b hold the same keys, in any order.
func sameKeys(a, b []*Key) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y *Key) bool { return equalKeys(x, y) }) {
			return false
		}
	}
	for _, y := range b {
		if !slices.ContainsFunc(a, func(x *Key) bool { return equalKeys(x, y) }) {
			return false
		}
	}
	return true
}

func errUnknownKID() error {
	return &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "kid", Detail: "no key with the token's key ID"}
}

func errUnavailable(detail string, err error) error {
	return &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "jwks", Detail: detail, Err: err}
}
