package grpcauth_test

import (
	"context"
	"fmt"
	"net"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/grpcauth"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// A server protects its service with a Guard and leaves the health service
// open; handlers read the caller with tollgate.FromContext.
func Example() {
	as := oauthtest.NewServer() // the authorization server
	defer as.Close()
	// Any tollgate.Validator does: the JWT validator (which finds the
	// issuer's keys by discovery and caches its results), the introspection
	// client, a user's own.
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{{
		Issuer:    as.Issuer(),
		Audiences: []string{as.Audience()},
	}}})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	guard, err := grpcauth.New(grpcauth.Config{
		Validator: v,
		Methods: map[string][]string{
			"/grpc.testing.TestService/":          {"test:read"},  // every method of the service...
			"/grpc.testing.TestService/UnaryCall": {"test:write"}, // ...but this one
		},
		Public: []string{grpcauth.HealthService},
	})
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(guard.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(guard.StreamServerInterceptor()),
	)
	testpb.RegisterTestServiceServer(srv, testService{}) // its handlers call tollgate.FromContext
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	lis := bufconn.Listen(1 << 16)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	defer hs.Shutdown()

	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	client := testpb.NewTestServiceClient(conn)
	ctx := context.Background()
	token := as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"test:read"}})
	reader := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	forgedToken := as.JWT(oauthtest.TokenOptions{Subject: "alice", Key: oauthtest.NewKey("RS256")})
	forged := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+forgedToken)

	var header metadata.MD
	_, err = client.EmptyCall(reader, &testpb.Empty{}, grpc.Header(&header))
	fmt.Println("EmptyCall as reader:", status.Code(err), header.Get("x-subject"))
	_, err = client.UnaryCall(reader, &testpb.SimpleRequest{})
	fmt.Println("UnaryCall as reader:", status.Convert(err).Message())
	_, err = client.EmptyCall(forged, &testpb.Empty{})
	fmt.Println("EmptyCall, forged token:", status.Code(err))
	_, err = client.EmptyCall(ctx, &testpb.Empty{})
	fmt.Println("EmptyCall, no token:", status.Code(err))
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	fmt.Println("health check, no token:", resp.GetStatus(), status.Code(err))
	// Output:
	// EmptyCall as reader: OK [alice]
	// UnaryCall as reader: tollgate: permission denied (scope): requires test:write
	// EmptyCall, forged token: Unauthenticated
	// EmptyCall, no token: Unauthenticated
	// health check, no token: SERVING OK
}

// A handler that needs more than its method's policy checks the scope itself
// and answers with the status the interceptor would have sent.
func ExampleStatusError() {
	ctx := tollgate.NewContext(context.Background(), tollgate.NewPrincipal(tollgate.PrincipalInfo{
		Subject: "alice", Scopes: tollgate.ParseScopes("orders:read"),
	}))
	// Inside the handler:
	if err := tollgate.RequireScope(ctx, "orders:refund"); err != nil {
		err = grpcauth.StatusError(err)
		fmt.Println(status.Code(err), status.Convert(err).Message())
	}
	// Output:
	// PermissionDenied tollgate: permission denied (scope): requires orders:refund
}
