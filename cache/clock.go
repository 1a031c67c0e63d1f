package cache

// clock bounds the number of entries of one kind (positive or negative) that
// a Store holds, and picks which one to evict when a new one comes in: the
// CLOCK algorithm, a FIFO ring of keys in which an entry that was served
// since the hand last passed gets a second chance.
//
// The ring is the cap: every entry the Cache stores has its key pushed here
// first, and a key leaves the ring only by having its entry (if still of
// this kind) deleted from the Store. So the Store never holds more entries
// of this kind than the ring has slots, whatever the sweeper, the Store's
// own expiry or overwrites did in between; a slot whose entry is already
// gone is simply reused. Slots are allocated as the ring fills, not up front.
//
// A clock is used under the Cache's write mutex: only misses reach it.
type clock struct {
	keys     []Key
	max      int
	hand     int
	negative bool
}

func newClock(max int, negative bool) *clock {
	return &clock{max: max, negative: negative}
}

// admit makes room for key and records it. alive reports whether an entry
// is still worth keeping (not expired, current generation).
func (c *clock) admit(key Key, s Store, alive func(*Entry) bool) {
	if len(c.keys) < c.max {
		c.keys = append(c.keys, key)
		return
	}
	// Each turn either evicts or clears one "used" bit, so one lap frees a
	// slot unless hits keep setting the bits behind the hand; two laps bound
	// the work even then.
	for turn := 0; ; turn++ {
		old := c.keys[c.hand]
		e, ok := s.Get(old)
		mine := ok && e.Negative() == c.negative
		if mine && turn < 2*c.max && alive(e) && e.used.Swap(false) {
			c.hand = (c.hand + 1) % c.max
			continue
		}
		if mine {
			s.Delete(old)
		}
		c.keys[c.hand] = key
		c.hand = (c.hand + 1) % c.max
		return
	}
}
