package grpcauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/grpcauth"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
)

// Tokens minted by oauthtest in TestMain, and validated by tollgate's JWT
// validator.
var (
	tokRead        string // scope test:read
	tokWrite       string // scopes test:read test:write
	tokNoScope     string // no scope
	tokExpired     string // ErrExpired (exp)
	tokForged      string // signed by a foreign key under the AS's kid: ErrInvalidToken (signature)
	tokUnavailable string // from an issuer whose JWKS endpoint fails: ErrUnavailable (jwks)
	jwtValidator   *validator.Validator
)

// Tokens for which testValidator plays a badly written custom validator.
const (
	tokLeaky     = "Y3VzdG9tLWxlYWt5.bGVha3k.c2lnLWxlYWt5"            // a plain error quoting the token
	tokNil       = "Y3VzdG9tLW5pbA.bmls.c2lnLW5pbA"                   // (nil, nil)
	tokCheckLeak = "Y3VzdG9tLWNoZWNr.Y2hlY2tsZWFr.c2lnLWNoZWNrbGVhaw" // the token smuggled into Check
)

func allTokens() []string {
	return []string{tokRead, tokWrite, tokNoScope, tokExpired, tokForged, tokUnavailable, tokLeaky, tokNil, tokCheckLeak}
}

func TestMain(m *testing.M) {
	code := runTests(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// runTests runs the tests against two authorization servers: one that
// works, and one whose JWK Set endpoint fails, so that its tokens cannot be
// decided. The validator finds both key sets by discovery and fetches them.
func runTests(m *testing.M) int {
	as := oauthtest.NewServer()
	defer as.Close()
	down := oauthtest.NewServer()
	defer down.Close()
	down.Fail(oauthtest.EndpointJWKS, oauthtest.Failure{Status: http.StatusServiceUnavailable})

	var err error
	jwtValidator, err = validator.New(validator.Config{
		Issuers: []validator.Issuer{
			{Issuer: as.Issuer(), Audiences: []string{as.Audience()}},
			{Issuer: down.Issuer(), Audiences: []string{down.Audience()}},
		},
		// Every test call is validated for real; the benchmarks put
		// tollgate's cache in front explicitly.
		DisableCache: true,
	})
	if err != nil {
		panic(err)
	}
	defer jwtValidator.Close()
	_ = jwtValidator.Start(context.Background()) // fails for down, which is the point

	scoped := func(sub string, scopes ...string) oauthtest.TokenOptions {
		return oauthtest.TokenOptions{Subject: sub, Scopes: scopes}
	}
	tokRead = as.JWT(scoped("alice", "test:read"))
	tokWrite = as.JWT(scoped("bob", "test:read", "test:write"))
	tokNoScope = as.JWT(scoped("carol"))
	expired := scoped("alice", "test:read")
	expired.Lifetime = -time.Hour
	tokExpired = as.JWT(expired)
	signing := as.SigningKey()
	forged := scoped("mallory", "test:read", "test:write")
	forged.Key = oauthtest.NewKey(signing.Algorithm()).WithID(signing.ID())
	tokForged = as.JWT(forged)
	tokUnavailable = down.JWT(scoped("alice", "test:read"))
	return m.Run()
}

// testValidator is tollgate's JWT validator, except for three tokens for
// which it misbehaves as a careless custom validator might. It counts its
// calls.
type testValidator struct {
	mu    sync.Mutex
	calls int
}

func (v *testValidator) Validate(ctx context.Context, token string) (*tollgate.Principal, error) {
	v.mu.Lock()
	v.calls++
	v.mu.Unlock()
	switch token {
	case tokLeaky:
		return nil, errors.New("cannot parse token " + token)
	case tokNil:
		return nil, nil
	case tokCheckLeak:
		return nil, &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: token, Detail: token}
	}
	return jwtValidator.Validate(ctx, token)
}

func (v *testValidator) Calls() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.calls
}

func principal(sub string, scopes ...string) *tollgate.Principal {
	return tollgate.NewPrincipal(tollgate.PrincipalInfo{
		Subject:  sub,
		ClientID: "client-app",
		Issuer:   "https://as.example.test",
		Scopes:   tollgate.NewScopes(scopes...),
		Kind:     tollgate.KindJWT,
	})
}

const (
	mEmpty     = "/grpc.testing.TestService/EmptyCall"
	mUnary     = "/grpc.testing.TestService/UnaryCall"
	mCacheable = "/grpc.testing.TestService/CacheableUnaryCall"
	mServer    = "/grpc.testing.TestService/StreamingOutputCall"
	mClient    = "/grpc.testing.TestService/StreamingInputCall"
	mBidi      = "/grpc.testing.TestService/FullDuplexCall"
	mUnimpl    = "/grpc.testing.UnimplementedService/UnimplementedCall"
	mHealth    = "/grpc.health.v1.Health/Check"
)

// testPolicy exercises every kind of rule: a service prefix, a full method
// stricter than its prefix, one looser than it, an unlisted service and a
// public one.
func testPolicy() (map[string][]string, []string) {
	return map[string][]string{
			"/grpc.testing.TestService/": {"test:read"},
			mUnary:                       {"test:write"},
			mBidi:                        {"test:read", "test:write"},
			mCacheable:                   nil,
		},
		[]string{grpcauth.HealthService}
}

// events records what a Guard reports.
type events struct {
	mu      sync.Mutex
	accepts []tollgate.AcceptEvent
	rejects []tollgate.RejectEvent
}

func (e *events) observer() tollgate.Observer {
	return tollgate.Observer{
		OnAccept: func(_ context.Context, ev tollgate.AcceptEvent) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.accepts = append(e.accepts, ev)
		},
		OnReject: func(_ context.Context, ev tollgate.RejectEvent) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.rejects = append(e.rejects, ev)
		},
	}
}

func (e *events) snapshot() ([]tollgate.AcceptEvent, []tollgate.RejectEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]tollgate.AcceptEvent(nil), e.accepts...), append([]tollgate.RejectEvent(nil), e.rejects...)
}

// testService implements TestService. Every handler reports the principal
// it sees in a response header "x-subject" (and, for unary calls, in the
// response's Username and OauthScope).
type testService struct {
	testpb.UnimplementedTestServiceServer
}

func subjectHeader(ctx context.Context) metadata.MD {
	p, ok := tollgate.FromContext(ctx)
	if !ok {
		return metadata.Pairs("x-subject", "<none>")
	}
	return metadata.Pairs("x-subject", p.Subject())
}

func (testService) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	if err := grpc.SetHeader(ctx, subjectHeader(ctx)); err != nil {
		return nil, err
	}
	return &testpb.Empty{}, nil
}

func (testService) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if err := grpc.SetHeader(ctx, subjectHeader(ctx)); err != nil {
		return nil, err
	}
	p, ok := tollgate.FromContext(ctx)
	if !ok {
		return &testpb.SimpleResponse{}, nil
	}
	return &testpb.SimpleResponse{Username: p.Subject(), OauthScope: p.Scopes().String()}, nil
}

func (s testService) CacheableUnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return s.UnaryCall(ctx, req)
}

// StreamingOutputCall sends one message per response parameter.
func (testService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, ss grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	if err := ss.SetHeader(subjectHeader(ss.Context())); err != nil {
		return err
	}
	for range req.GetResponseParameters() {
		if err := ss.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	return nil
}

// StreamingInputCall counts the messages it receives.
func (testService) StreamingInputCall(ss grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	if err := ss.SetHeader(subjectHeader(ss.Context())); err != nil {
		return err
	}
	n := int32(0)
	for {
		_, err := ss.Recv()
		if err == io.EOF {
			return ss.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: n})
		}
		if err != nil {
			return err
		}
		n++
	}
}

// FullDuplexCall answers each message with one message.
func (testService) FullDuplexCall(ss grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	if err := ss.SetHeader(subjectHeader(ss.Context())); err != nil {
		return err
	}
	for {
		_, err := ss.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
}

// startServer serves TestService, UnimplementedService (whose handler
// answers Unimplemented) and the health service over bufconn with opts, and
// returns a client connection. Both are stopped when the test ends.
func startServer(tb testing.TB, opts ...grpc.ServerOption) *grpc.ClientConn {
	tb.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(opts...)
	testpb.RegisterTestServiceServer(srv, testService{})
	testpb.RegisterUnimplementedServiceServer(srv, testpb.UnimplementedUnimplementedServiceServer{})
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = conn.Close()
		hs.Shutdown()
		srv.Stop()
		<-served
	})
	return conn
}

// startGuarded starts a server whose interceptors come from a Guard with the
// test policy, the given validator and observer.
func startGuarded(tb testing.TB, v tollgate.Validator, obs tollgate.Observer) *grpc.ClientConn {
	tb.Helper()
	methods, public := testPolicy()
	g, err := grpcauth.New(grpcauth.Config{Validator: v, Methods: methods, Public: public, Observer: obs})
	if err != nil {
		tb.Fatal(err)
	}
	return startServer(tb, grpc.UnaryInterceptor(g.UnaryServerInterceptor()), grpc.StreamInterceptor(g.StreamServerInterceptor()))
}

// withAuth returns ctx carrying one "authorization" value per element.
func withAuth(ctx context.Context, values ...string) context.Context {
	for _, v := range values {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
	}
	return ctx
}
