package grpcauth_test

import (
	"context"
	"testing"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/grpcauth"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

// The validators the benchmarks compare. Every case sends the same real
// RS256 token (tokWrite), so that the bare call carries the same metadata.
//
//   - prebuilt: returns a principal made once, the floor of any cache hit;
//   - cache: tollgate's cache in front of the JWT validator, warmed, so
//     every call is a hit (SHA-256 of the token and a map read);
//   - jwt: the JWT validator on every call, for scale.
func benchValidators(b *testing.B) map[string]tollgate.Validator {
	p := principal("bob", "test:read", "test:write")
	prebuilt := tollgate.ValidatorFunc(func(context.Context, string) (*tollgate.Principal, error) { return p, nil })
	c, err := cache.New(jwtValidator, cache.Config{Name: "jwt"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	if _, err := c.Validate(context.Background(), tokWrite); err != nil {
		b.Fatal(err)
	}
	return map[string]tollgate.Validator{"prebuilt": prebuilt, "cache": c, "jwt": jwtValidator}
}

func benchGuard(b *testing.B, v tollgate.Validator) *grpcauth.Guard {
	methods, public := testPolicy()
	g, err := grpcauth.New(grpcauth.Config{Validator: v, Methods: methods, Public: public})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkUnaryCall compares a unary call through bufconn without and with
// the Guard, in the same run: "guard-cache" minus "bare" is the overhead of
// authorization with a cached token.
func BenchmarkUnaryCall(b *testing.B) {
	for _, name := range []string{"bare", "guard-prebuilt", "guard-cache", "guard-jwt"} {
		b.Run(name, func(b *testing.B) {
			var opts []grpc.ServerOption
			if name != "bare" {
				v := benchValidators(b)[name[len("guard-"):]]
				opts = append(opts, grpc.UnaryInterceptor(benchGuard(b, v).UnaryServerInterceptor()))
			}
			c := testpb.NewTestServiceClient(startServer(b, opts...))
			ctx := withAuth(b.Context(), "Bearer "+tokWrite)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.EmptyCall(ctx, &testpb.Empty{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStreamCall does the same for a bidirectional stream opened,
// used for three messages each way and closed.
func BenchmarkStreamCall(b *testing.B) {
	for _, name := range []string{"bare", "guard-cache"} {
		b.Run(name, func(b *testing.B) {
			var opts []grpc.ServerOption
			if name != "bare" {
				opts = append(opts, grpc.StreamInterceptor(benchGuard(b, benchValidators(b)["cache"]).StreamServerInterceptor()))
			}
			c := testpb.NewTestServiceClient(startServer(b, opts...))
			ctx := withAuth(b.Context(), "Bearer "+tokWrite)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := streamKinds[2].call(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInterceptor isolates the interceptor: the decision on a server
// context with incoming metadata, no transport. "noop" is an interceptor
// that only calls the handler, for reference.
func BenchmarkInterceptor(b *testing.B) {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tokWrite))
	info := &grpc.UnaryServerInfo{FullMethod: mEmpty}
	handler := func(ctx context.Context, _ any) (any, error) { return nil, nil }
	b.Run("noop", func(b *testing.B) {
		noop := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(ctx, req)
		}
		b.ReportAllocs()
		for b.Loop() {
			_, _ = noop(ctx, nil, info, handler)
		}
	})
	for _, name := range []string{"prebuilt", "cache"} {
		b.Run("guard-"+name, func(b *testing.B) {
			intercept := benchGuard(b, benchValidators(b)[name]).UnaryServerInterceptor()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := intercept(ctx, nil, info, handler); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
