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
	as := newAS(oauthtest.Config{})
	defer as.Close()
	c, err := introspect.New(introspect.Config{
		Endpoint: as.IntrospectionURL(), ClientID: oauthtest.DefaultClientID,
		ClientSecret: oauthtest.DefaultClientSecret, HTTPClient: as.Client(),
		Audiences: []string{as.Audience()},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	token := as.Opaque(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	ctx := context.Background()
	if _, err := c.Validate(ctx, token); err != nil {
		b.Fatal(err)
	}
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
	as := newAS(oauthtest.Config{})
	defer as.Close()
	c, err := introspect.New(introspect.Config{
		Endpoint: as.IntrospectionURL(), ClientID: oauthtest.DefaultClientID,
		ClientSecret: oauthtest.DefaultClientSecret, HTTPClient: as.Client(),
		Audiences: []string{as.Audience()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	token := as.Opaque(oauthtest.TokenOptions{Scopes: []string{"orders:read"}})
	ctx := context.Background()
	if _, err := c.Validate(ctx, token); err != nil {
		t.Fatal(err)
	}
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
