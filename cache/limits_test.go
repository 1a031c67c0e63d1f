package cache

import (
	"context"
	"fmt"
	"testing"
)

// TestEntryCapsAtDefaults: each cap holds its documented default number of
// entries - all of them served from the cache afterwards - and one entry
// more evicts one rather than growing past the cap, for accepted tokens
// (DefaultMaxEntries) and rejections (DefaultMaxNegativeEntries) alike.
func TestEntryCapsAtDefaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		accept bool
		cap    int
	}{
		{"accepted tokens", true, DefaultMaxEntries},
		{"rejected tokens", false, DefaultMaxNegativeEntries},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newCountingValidator(tc.accept)
			c, err := New(v, Config{SweepInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			token := func(i int) string { return fmt.Sprintf("token-%d", i) }
			held := func() int {
				pos, neg := counts(t, c)
				if tc.accept {
					return pos + 10*neg // a rejection here would be a bug
				}
				return neg + 10*pos
			}

			// At the cap: every entry is kept and served.
			for i := range tc.cap {
				_, _ = c.Validate(ctx, token(i))
			}
			if n := held(); n != tc.cap {
				t.Fatalf("%d entries held at the cap of %d", n, tc.cap)
			}
			for i := range tc.cap {
				_, _ = c.Validate(ctx, token(i))
			}
			if n := v.total.Load(); n != int64(tc.cap) {
				t.Fatalf("%d calls for %d tokens asked twice: entries were lost at the cap", n, tc.cap)
			}

			// One past: the count stays at the cap.
			_, _ = c.Validate(ctx, token(tc.cap))
			if n := held(); n != tc.cap {
				t.Fatalf("%d entries held after one past the cap of %d", n, tc.cap)
			}
			if _, err := c.Validate(ctx, token(tc.cap)); tc.accept != (err == nil) || v.total.Load() != int64(tc.cap)+1 {
				t.Fatalf("the newest entry is not served: %v after %d calls", err, v.total.Load())
			}
		})
	}
}
