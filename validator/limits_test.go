package validator_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// padTo returns a valid token of f exactly n bytes long, padded with an
// extra claim and, to reach every length, an extra header member.
func padTo(t *testing.T, f *fixture, n int) string {
	t.Helper()
	for hp := range 4 {
		header := f.header().set("x", q(strings.Repeat("h", hp)))
		base := len(f.sign(t, header, f.claims().set("pad", q(""))))
		est := max(0, (n-base)*3/4-4)
		for p := est; p < est+12; p++ {
			tok := f.sign(t, header, f.claims().set("pad", q(strings.Repeat("x", p))))
			if len(tok) == n {
				return tok
			}
		}
	}
	t.Fatalf("no token of %d bytes", n)
	return ""
}

// TestTokenSizeLimits: the size limit, checked before any decoding, is
// exact at its default and at a configured value: a valid token of exactly
// the limit validates, the same token one byte longer (by padding) is
// rejected with Check "size". The largest limit that can be configured,
// 1 MiB, takes a token of that size.
func TestTokenSizeLimits(t *testing.T) {
	as := oauthtest.New(oauthtest.Config{Algorithm: "ES256", Now: func() time.Time { return t0 }})
	defer as.Close()
	for _, tc := range []struct {
		name  string
		limit int // MaxTokenBytes; 0 for the default
		size  int
		ok    bool
	}{
		{"default, at the limit", 0, validator.DefaultMaxTokenBytes, true},
		{"default, one byte past", 0, validator.DefaultMaxTokenBytes + 1, false},
		{"4 KiB, at the limit", 4 << 10, 4 << 10, true},
		{"4 KiB, one byte past", 4 << 10, 4<<10 + 1, false},
		{"largest limit, at it", 1 << 20, 1 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureOn(t, as)
			v, err := validator.New(validator.Config{
				Issuers:       []validator.Issuer{{Issuer: as.Issuer(), Audiences: []string{as.Audience()}, Keys: newStaticKeys(publicKey(t, f.key, true))}},
				MaxTokenBytes: tc.limit,
				Now:           func() time.Time { return t0 },
				Logger:        slog.New(slog.DiscardHandler),
				DisableCache:  true,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			token := padTo(t, f, tc.size)
			p, err := v.Validate(context.Background(), token)
			if tc.ok {
				wantAccept(t, p, err)
				return
			}
			wantReject(t, err, tollgate.ErrInvalidToken, "size")
		})
	}
}
