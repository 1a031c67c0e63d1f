package main

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/grpcauth"
	"github.com/tollgate/tollgate/oauthtest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// serveWithMiddleware serves the example's service behind go-grpc-middleware's
// auth interceptors driven by Guard.AuthFunc, over bufconn, and returns a
// client connection and a func that stops everything.
func serveWithMiddleware(v tollgate.Validator) (*grpc.ClientConn, func(), error) {
	guard, err := grpcauth.New(grpcauth.Config{Validator: v, Methods: policy, Public: []string{grpcauth.HealthService}})
	if err != nil {
		return nil, nil, err
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(auth.UnaryServerInterceptor(guard.AuthFunc)),
		grpc.ChainStreamInterceptor(auth.StreamServerInterceptor(guard.AuthFunc)),
	)
	testpb.RegisterTestServiceServer(srv, service{})
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	lis := bufconn.Listen(1 << 16)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	stop := func() {
		hs.Shutdown()
		srv.Stop()
		<-served
	}
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		stop()
		return nil, nil, err
	}
	return conn, func() { _ = conn.Close(); stop() }, nil
}

// TestMiddlewareAuth: Guard.AuthFunc under go-grpc-middleware's auth
// interceptors gives the answers of the Guard's own interceptors, for unary
// calls, streams and the public health service.
func TestMiddlewareAuth(t *testing.T) {
	as := oauthtest.NewServer()
	defer as.Close()
	v, closeValidator, err := newValidator(as)
	if err != nil {
		t.Fatal(err)
	}
	defer closeValidator()
	conn, stop, err := serveWithMiddleware(v)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	reader := "Bearer " + as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"test:read"}})
	writer := "Bearer " + as.JWT(oauthtest.TokenOptions{Subject: "bob", Scopes: []string{"test:read", "test:write"}})
	tests := []struct {
		name string
		auth []string
		rpc  func(context.Context, *grpc.ClientConn) (string, error)
		code codes.Code
		want string // the result of a successful call
	}{
		{"unary, reader", []string{reader}, emptyCall, codes.OK, "handler saw alice"},
		{"unary, missing scope", []string{reader}, unaryCall, codes.PermissionDenied, ""},
		{"unary, scope held", []string{writer}, unaryCall, codes.OK, `handler saw bob with scopes "test:read test:write"`},
		{"unary, no token", nil, emptyCall, codes.Unauthenticated, ""},
		{"unary, forged token", []string{"Bearer " + forge(as)}, emptyCall, codes.Unauthenticated, ""},
		{"unary, token twice", []string{reader, reader}, emptyCall, codes.InvalidArgument, ""},
		{"stream, missing scope", []string{reader}, bidiCall, codes.PermissionDenied, ""},
		{"stream, scopes held", []string{writer}, bidiCall, codes.OK, "3 messages echoed, handler saw bob"},
		{"stream, no token", nil, bidiCall, codes.Unauthenticated, ""},
		{"health, no token", nil, healthCheck, codes.OK, "SERVING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			for _, a := range tt.auth {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
			}
			got, err := tt.rpc(ctx, conn)
			if status.Code(err) != tt.code || got != tt.want {
				t.Errorf("got %q, %v; want %q, %v", got, err, tt.want, tt.code)
			}
		})
	}
}

// Guard.AuthFunc plugs into go-grpc-middleware's auth interceptors.
func Example_goGRPCMiddleware() {
	as := oauthtest.NewServer()
	defer as.Close()
	v, closeValidator, err := newValidator(as)
	if err != nil {
		panic(err)
	}
	defer closeValidator()

	// serveWithMiddleware installs, for a grpcauth.Guard named guard:
	//	grpc.ChainUnaryInterceptor(auth.UnaryServerInterceptor(guard.AuthFunc)),
	//	grpc.ChainStreamInterceptor(auth.StreamServerInterceptor(guard.AuthFunc)),
	conn, stop, err := serveWithMiddleware(v)
	if err != nil {
		panic(err)
	}
	defer stop()

	token := as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"test:read"}})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	fmt.Println(emptyCall(ctx, conn))
	_, err = unaryCall(ctx, conn)
	fmt.Println(status.Code(err))
	// Output:
	// handler saw alice <nil>
	// PermissionDenied
}
