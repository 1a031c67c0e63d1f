package jwks_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
)

// BenchmarkLookup measures the hot path - a known kid on a warm set - side
// by side with jwx's own jwk.Set lookup and a bare map read.
func BenchmarkLookup(b *testing.B) {
	as := oauthtest.NewServer()
	defer as.Close()
	for range 4 {
		as.RotateKey("ES256")
	}
	kid := as.SigningKey().ID()
	ctx := context.Background()

	fetched, err := jwks.New(jwks.Config{URL: as.JWKSURL()})
	if err != nil {
		b.Fatal(err)
	}
	defer fetched.Close()
	if err := fetched.Start(ctx); err != nil {
		b.Fatal(err)
	}
	all, _ := fetched.Keys(ctx)
	static, err := jwks.New(jwks.Config{Keys: all})
	if err != nil {
		b.Fatal(err)
	}
	defer static.Close()

	b.Run("set=fetched", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fetched.Lookup(ctx, kid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("set=static", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := static.Lookup(ctx, kid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("set=fetched/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := fetched.Lookup(ctx, kid); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// A miss inside the refetch interval: answered at once, no fetch.
	b.Run("set=fetched/miss-rate-limited", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fetched.Lookup(ctx, "unknown"); err == nil {
				b.Fatal("found")
			}
		}
	})

	// Peers: jwx's jwk.Set.LookupKeyID on the same set, and a plain map.
	resp, err := as.Client().Get(as.JWKSURL())
	if err != nil {
		b.Fatal(err)
	}
	jset, err := jwk.ParseReader(resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("peer=jwx-LookupKeyID", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := jset.LookupKeyID(kid); !ok {
				b.Fatal("not found")
			}
		}
	})
	m := make(map[string][]*jwks.Key)
	for _, k := range all {
		m[k.ID()] = append(m[k.ID()], k)
	}
	b.Run("floor=map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := m[kid]; !ok {
				b.Fatal("not found")
			}
		}
	})
}

// BenchmarkParseSet measures a refresh's parsing cost for a typical set.
func BenchmarkParseSet(b *testing.B) {
	for _, n := range []int{1, 5} {
		var members []string
		for i := range n {
			members = append(members, string(oauthtest.NewKey([]string{"RS256", "ES256"}[i%2]).PublicJWK(false)))
		}
		data := []byte(fmt.Sprintf(`{"keys":[%s]}`, strings.Join(members, ",")))
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := jwks.ParseSet(data, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestLookupDoesNotAllocate guards what BenchmarkLookup measures: finding a
// known key, on every request, allocates nothing.
func TestLookupDoesNotAllocate(t *testing.T) {
	as := oauthtest.NewServer()
	defer as.Close()
	s, err := jwks.New(jwks.Config{URL: as.JWKSURL(), HTTPClient: as.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	kid := as.SigningKey().ID()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := s.Lookup(ctx, kid); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Lookup allocates %v times per call, want 0", allocs)
	}
}
