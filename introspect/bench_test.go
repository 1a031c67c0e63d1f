package introspect_test

import (
	"context"
	"testing"

	"github.com/tollgate/tollgate/introspect"
	"github.com/tollgate/tollgate/oauthtest"
)

// BenchmarkCachedIntrospection measures a Validate answered from the cache
// (the steady state of a busy opaque token), alone and on every core.
func BenchmarkCachedIntrospection(b *testing.B) {
	as, c, token := cachedClient(b)
	ctx := context.Background()
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Validate(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hit-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Validate(ctx, token); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	if n := as.Requests(oauthtest.EndpointIntrospection); n != 1 {
		b.Fatalf("%d introspection calls, want 1", n)
	}
}

// TestCachedIntrospectionDoesNotAllocate guards what
// BenchmarkCachedIntrospection measures: a token answered from the cache
// allocates nothing.
func TestCachedIntrospectionDoesNotAllocate(t *testing.T) {
	as, c, token := cachedClient(t)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := c.Validate(ctx, token); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a cached Validate allocates %v times per call, want 0", allocs)
	}
	if n := as.Requests(oauthtest.EndpointIntrospection); n != 1 {
		t.Fatalf("%d introspection calls, want 1", n)
	}
}

// cachedClient returns a client with its default cache and an opaque token
// it has validated once, so that the next Validate is a cache hit. Both
// the server and the client are closed when the test ends.
func cachedClient(tb testing.TB) (*oauthtest.Server, *introspect.Client, string) {
	tb.Helper()
	as := newAS(oauthtest.Config{})
	tb.Cleanup(as.Close)
	c, err := introspect.New(introspect.Config{
		Endpoint: as.IntrospectionURL(), ClientID: oauthtest.DefaultClientID,
		ClientSecret: oauthtest.DefaultClientSecret, HTTPClient: as.Client(),
		Audiences: []string{as.Audience()},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	token := as.Opaque(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	if _, err := c.Validate(context.Background(), token); err != nil {
		tb.Fatal(err)
	}
	return as, c, token
}
