package grpcauth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/grpcauth"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

// benchToken has the length of an RS256 access token (about 660 bytes), so
// that both sides of the comparison carry the same metadata.
var benchToken = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiYXQrand0In0." + strings.Repeat("Y2xhaW1z", 50) + "." + strings.Repeat("c2ln", 50)

// cachedValidator stands in for a cache hit: it returns a prebuilt
// principal, so the benchmark measures the interceptor, not the crypto.
func cachedValidator() tollgate.Validator {
	p := principal("alice", "test:read", "test:write")
	return tollgate.ValidatorFunc(func(context.Context, string) (*tollgate.Principal, error) { return p, nil })
}

func benchGuard(b *testing.B) *grpcauth.Guard {
	methods, public := testPolicy()
	g, err := grpcauth.New(grpcauth.Config{Validator: cachedValidator(), Methods: methods, Public: public})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkUnaryCall compares a unary call through bufconn without and with
// the Guard, in the same run: "guard" minus "bare" is the interceptor's
// overhead with a cached token. All send the same authorization metadata.
// "guard-jwt" validates a real RS256 token on every call, for scale.
func BenchmarkUnaryCall(b *testing.B) {
	for _, tc := range []struct {
		name  string
		guard func(*testing.B) *grpcauth.Guard
		token string
	}{
		{"bare", nil, benchToken},
		{"guard", benchGuard, benchToken},
		{"guard-jwt", jwtGuard, tokWrite},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var opts []grpc.ServerOption
			if tc.guard != nil {
				opts = append(opts, grpc.UnaryInterceptor(tc.guard(b).UnaryServerInterceptor()))
			}
			conn := startServer(b, opts...)
			c := testpb.NewTestServiceClient(conn)
			ctx := withAuth(b.Context(), "Bearer "+tc.token)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.EmptyCall(ctx, &testpb.Empty{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func jwtGuard(b *testing.B) *grpcauth.Guard {
	methods, public := testPolicy()
	g, err := grpcauth.New(grpcauth.Config{Validator: jwtValidator, Methods: methods, Public: public})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkStreamCall does the same for a bidirectional stream opened,
// used for one message each way and closed.
func BenchmarkStreamCall(b *testing.B) {
	for _, tc := range []struct {
		name    string
		guarded bool
	}{{"bare", false}, {"guard", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var opts []grpc.ServerOption
			if tc.guarded {
				opts = append(opts, grpc.StreamInterceptor(benchGuard(b).StreamServerInterceptor()))
			}
			conn := startServer(b, opts...)
			c := testpb.NewTestServiceClient(conn)
			ctx := withAuth(b.Context(), "Bearer "+benchToken)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := streamKinds[2].call(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInterceptor isolates the interceptor: the decision on a server
// context with incoming metadata, no transport. "noop" is a bare call of the
// handler, for reference.
func BenchmarkInterceptor(b *testing.B) {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+benchToken))
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
	b.Run("guard", func(b *testing.B) {
		intercept := benchGuard(b).UnaryServerInterceptor()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := intercept(ctx, nil, info, handler); err != nil {
				b.Fatal(err)
			}
		}
	})
}
