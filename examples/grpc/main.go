// Command grpc runs a gRPC service protected by tollgate's grpcauth, next to
// an in-process authorization server (oauthtest) that mints its tokens, and
// calls it as a few clients would: with and without the right scopes, with
// no token, a forged or expired one, and on the public health service. It
// prints each outcome and exits 0 when every outcome is the expected one.
//
//	go run ./examples/grpc
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

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
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "grpc example:", err)
		os.Exit(1)
	}
}

// policy is the service's access policy: reading needs test:read, the one
// writing method needs test:write, streams need both, and the health service
// is open. Anything else is refused.
var policy = map[string][]string{
	"/grpc.testing.TestService/":               {"test:read"},
	"/grpc.testing.TestService/UnaryCall":      {"test:write"},
	"/grpc.testing.TestService/FullDuplexCall": {"test:read", "test:write"},
}

// run starts the authorization server and the gRPC service on loopback,
// makes the calls and reports them to out. It returns an error if any call
// ended otherwise than expected.
func run(out io.Writer) error {
	as := oauthtest.NewServer()
	defer as.Close()

	v, closeValidator, err := newValidator(as)
	if err != nil {
		return err
	}
	defer closeValidator()

	guard, err := grpcauth.New(grpcauth.Config{
		Validator: v,
		Methods:   policy,
		Public:    []string{grpcauth.HealthService},
	})
	if err != nil {
		return err
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(guard.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(guard.StreamServerInterceptor()),
	)
	testpb.RegisterTestServiceServer(srv, service{})
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	defer func() {
		hs.Shutdown()
		srv.Stop()
		<-served
	}()

	// Plaintext is acceptable here only because client and server share the
	// loopback interface: a bearer token must never cross a network in the
	// clear, so a real service serves TLS (grpc.Creds) and its clients send
	// tokens with per-RPC credentials that require it.
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	return callAll(context.Background(), out, conn, as)
}

// call is one client call and the outcome it must have.
type call struct {
	what string
	auth []string // authorization values sent
	rpc  func(ctx context.Context, conn *grpc.ClientConn) (string, error)
	want codes.Code
}

func callAll(ctx context.Context, out io.Writer, conn *grpc.ClientConn, as *oauthtest.Server) error {
	reader := "Bearer " + as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"test:read"}})
	writer := "Bearer " + as.JWT(oauthtest.TokenOptions{Subject: "bob", Scopes: []string{"test:read", "test:write"}})
	expired := "Bearer " + as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"test:read"}, Lifetime: -oneHour})
	forged := "Bearer " + forge(as)

	calls := []call{
		{"EmptyCall, reader", []string{reader}, emptyCall, codes.OK},
		{"UnaryCall, reader", []string{reader}, unaryCall, codes.PermissionDenied},
		{"UnaryCall, writer", []string{writer}, unaryCall, codes.OK},
		{"FullDuplexCall, reader", []string{reader}, bidiCall, codes.PermissionDenied},
		{"FullDuplexCall, writer", []string{writer}, bidiCall, codes.OK},
		{"EmptyCall, no token", nil, emptyCall, codes.Unauthenticated},
		{"EmptyCall, expired token", []string{expired}, emptyCall, codes.Unauthenticated},
		{"EmptyCall, forged token", []string{forged}, emptyCall, codes.Unauthenticated},
		{"EmptyCall, token sent twice", []string{reader, reader}, emptyCall, codes.InvalidArgument},
		{"EmptyCall, Basic credentials", []string{"Basic dXNlcjpwYXNz"}, emptyCall, codes.Unauthenticated},
		{"Health/Check, no token", nil, healthCheck, codes.OK},
	}
	var failed []string
	for _, c := range calls {
		ctx := ctx
		for _, a := range c.auth {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
		}
		result, err := c.rpc(ctx, conn)
		st := status.Convert(err)
		mark := "ok  "
		if st.Code() != c.want {
			mark = "FAIL"
			failed = append(failed, c.what)
		}
		if err == nil {
			fmt.Fprintf(out, "%s %-30s -> OK: %s\n", mark, c.what, result)
		} else {
			fmt.Fprintf(out, "%s %-30s -> %v: %s\n", mark, c.what, st.Code(), st.Message())
		}
	}
	if len(failed) > 0 {
		return errors.New("unexpected outcome for " + strings.Join(failed, "; "))
	}
	return nil
}

func emptyCall(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	var header metadata.MD
	if _, err := testpb.NewTestServiceClient(conn).EmptyCall(ctx, &testpb.Empty{}, grpc.Header(&header)); err != nil {
		return "", err
	}
	return "handler saw " + strings.Join(header.Get("x-subject"), ","), nil
}

func unaryCall(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	resp, err := testpb.NewTestServiceClient(conn).UnaryCall(ctx, &testpb.SimpleRequest{})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("handler saw %s with scopes %q", resp.GetUsername(), resp.GetOauthScope()), nil
}

func bidiCall(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	st, err := testpb.NewTestServiceClient(conn).FullDuplexCall(ctx)
	if err != nil {
		return "", err
	}
	n := 0
	for range 3 {
		if err := st.Send(&testpb.StreamingOutputCallRequest{}); err != nil && err != io.EOF {
			return "", err
		}
		if _, err := st.Recv(); err != nil {
			return "", err
		}
		n++
	}
	if err := st.CloseSend(); err != nil {
		return "", err
	}
	if _, err := st.Recv(); err != io.EOF {
		return "", fmt.Errorf("stream did not end: %v", err)
	}
	header, err := st.Header()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d messages echoed, handler saw %s", n, strings.Join(header.Get("x-subject"), ",")), nil
}

func healthCheck(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return "", err
	}
	return resp.GetStatus().String(), nil
}

// service is the protected service. Its handlers find the caller with
// tollgate.FromContext, in the call's context or the stream's.
type service struct {
	testpb.UnimplementedTestServiceServer
}

func subject(ctx context.Context) string {
	if p, ok := tollgate.FromContext(ctx); ok {
		return p.Subject()
	}
	return "nobody"
}

func (service) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, grpc.SetHeader(ctx, metadata.Pairs("x-subject", subject(ctx)))
}

func (service) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	p, ok := tollgate.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "no principal") // cannot happen behind the guard
	}
	return &testpb.SimpleResponse{Username: p.Subject(), OauthScope: p.Scopes().String()}, nil
}

func (service) FullDuplexCall(ss grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	if err := ss.SetHeader(metadata.Pairs("x-subject", subject(ss.Context()))); err != nil {
		return err
	}
	for {
		if _, err := ss.Recv(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
}
