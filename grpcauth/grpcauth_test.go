package grpcauth_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/grpcauth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// rejection is what a refused call must look like on both sides: the status
// the client gets and the event the server reports.
type rejection struct {
	code  codes.Code
	kind  error
	check string
	msg   string
}

func TestUnary(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		auth    []string
		subject string     // for a call let through: the principal the handler saw ("" for public)
		reject  *rejection // nil: the call is let through
		noCalls bool       // the validator must not be called
	}{
		{name: "valid token", method: mEmpty, auth: []string{"Bearer " + tokRead}, subject: "alice"},
		{name: "scheme is case-insensitive", method: mEmpty, auth: []string{"bearer " + tokRead}, subject: "alice"},
		{name: "no metadata", method: mEmpty, reject: &rejection{codes.Unauthenticated, tollgate.ErrNoToken, "authorization", "tollgate: no bearer token"}},
		{name: "other scheme", method: mEmpty, auth: []string{"Basic dXNlcjpwYXNz"}, reject: &rejection{codes.Unauthenticated, tollgate.ErrNoToken, "authorization", "tollgate: no bearer token"}},
		{name: "ill-formed token", method: mEmpty, auth: []string{"Bearer " + tokRead + ",x"}, reject: &rejection{codes.InvalidArgument, tollgate.ErrInvalidRequest, "authorization", "tollgate: malformed authorization metadata (authorization)"}},
		{name: "empty token", method: mEmpty, auth: []string{"Bearer"}, reject: &rejection{codes.InvalidArgument, tollgate.ErrInvalidRequest, "authorization", "tollgate: malformed authorization metadata (authorization)"}},
		{name: "two authorization values", method: mEmpty, auth: []string{"Bearer " + tokRead, "Bearer " + tokRead}, reject: &rejection{codes.InvalidArgument, tollgate.ErrInvalidRequest, "authorization", "tollgate: malformed authorization metadata (authorization)"}, noCalls: true},
		{name: "invalid token", method: mEmpty, auth: []string{"Bearer " + tokForged}, reject: &rejection{codes.Unauthenticated, tollgate.ErrInvalidToken, "signature", "tollgate: invalid token"}},
		{name: "expired token", method: mEmpty, auth: []string{"Bearer " + tokExpired}, reject: &rejection{codes.Unauthenticated, tollgate.ErrExpired, "exp", "tollgate: token expired"}},
		{name: "validation unavailable", method: mEmpty, auth: []string{"Bearer " + tokUnavailable}, reject: &rejection{codes.Unavailable, tollgate.ErrUnavailable, "jwks", "tollgate: token validation unavailable"}},
		{name: "plain validator error quoting the token", method: mEmpty, auth: []string{"Bearer " + tokLeaky}, reject: &rejection{codes.Unauthenticated, tollgate.ErrInvalidToken, "", "tollgate: invalid token"}},
		{name: "token smuggled into Check", method: mEmpty, auth: []string{"Bearer " + tokCheckLeak}, reject: &rejection{codes.Unauthenticated, tollgate.ErrInvalidToken, "", "tollgate: invalid token"}},
		{name: "validator returns neither principal nor error", method: mEmpty, auth: []string{"Bearer " + tokNil}, reject: &rejection{codes.Unavailable, tollgate.ErrUnavailable, "validator", "tollgate: token validation unavailable"}},
		{name: "service scope missing", method: mEmpty, auth: []string{"Bearer " + tokNoScope}, reject: &rejection{codes.PermissionDenied, tollgate.ErrInsufficientScope, "scope", "tollgate: permission denied (scope): requires test:read"}},
		{name: "method scope missing", method: mUnary, auth: []string{"Bearer " + tokRead}, reject: &rejection{codes.PermissionDenied, tollgate.ErrInsufficientScope, "scope", "tollgate: permission denied (scope): requires test:write"}},
		{name: "method scope held", method: mUnary, auth: []string{"Bearer " + tokWrite}, subject: "bob"},
		{name: "method looser than its service", method: mCacheable, auth: []string{"Bearer " + tokNoScope}, subject: "carol"},
		{name: "unlisted service", method: mUnimpl, auth: []string{"Bearer " + tokWrite}, reject: &rejection{codes.PermissionDenied, tollgate.ErrInsufficientScope, "method", "tollgate: permission denied (method)"}, noCalls: true},
		{name: "unlisted service without token", method: mUnimpl, reject: &rejection{codes.PermissionDenied, tollgate.ErrInsufficientScope, "method", "tollgate: permission denied (method)"}, noCalls: true},
		{name: "public health check without token", method: mHealth, noCalls: true},
		{name: "public health check ignores a bad token", method: mHealth, auth: []string{"Bearer ###"}, noCalls: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &testValidator{}
			var ev events
			conn := startGuarded(t, v, ev.observer())
			var header metadata.MD
			err := invoke(withAuth(t.Context(), tt.auth...), conn, tt.method, grpc.Header(&header))
			accepts, rejects := ev.snapshot()
			if tt.noCalls && v.Calls() != 0 {
				t.Errorf("validator called %d times, want 0", v.Calls())
			}
			if tt.reject == nil {
				if err != nil {
					t.Fatalf("call failed: %v", err)
				}
				if len(rejects) != 0 {
					t.Errorf("reject events: %v", rejects)
				}
				if tt.subject == "" { // public
					if len(accepts) != 0 {
						t.Errorf("public method reported %d accepts", len(accepts))
					}
					return
				}
				if got := header.Get("x-subject"); len(got) != 1 || got[0] != tt.subject {
					t.Errorf("handler saw subject %q, want %q", got, tt.subject)
				}
				if len(accepts) != 1 || accepts[0].Principal.Subject() != tt.subject {
					t.Errorf("accept events: %v, want one for %q", accepts, tt.subject)
				}
				return
			}
			checkRejection(t, err, rejects, *tt.reject)
			if len(accepts) != 0 {
				t.Errorf("accept events on a rejection: %v", accepts)
			}
		})
	}
}

// TestUnaryPrincipal checks the whole principal, not just its subject,
// reaches a unary handler.
func TestUnaryPrincipal(t *testing.T) {
	conn := startGuarded(t, &testValidator{}, tollgate.Observer{})
	resp, err := testpb.NewTestServiceClient(conn).UnaryCall(withAuth(t.Context(), "Bearer "+tokWrite), &testpb.SimpleRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetUsername() != "bob" || resp.GetOauthScope() != "test:read test:write" {
		t.Errorf("handler saw %q with scopes %q, want bob with test:read test:write", resp.GetUsername(), resp.GetOauthScope())
	}
}

// invoke calls a unary method with the right message types.
func invoke(ctx context.Context, conn *grpc.ClientConn, method string, opts ...grpc.CallOption) error {
	switch method {
	case mEmpty, mUnimpl:
		return conn.Invoke(ctx, method, &testpb.Empty{}, &testpb.Empty{}, opts...)
	case mUnary, mCacheable:
		return conn.Invoke(ctx, method, &testpb.SimpleRequest{}, &testpb.SimpleResponse{}, opts...)
	case mHealth:
		var resp healthpb.HealthCheckResponse
		if err := conn.Invoke(ctx, method, &healthpb.HealthCheckRequest{}, &resp, opts...); err != nil {
			return err
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return errors.New("health: " + resp.GetStatus().String())
		}
		return nil
	}
	panic("no messages for " + method)
}

// checkRejection asserts the client's status and the server's one reject
// event, and that no token appears in either.
func checkRejection(t *testing.T, err error, rejects []tollgate.RejectEvent, want rejection) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("error %v is not a status", err)
	}
	if st.Code() != want.code {
		t.Errorf("code %v, want %v (message %q)", st.Code(), want.code, st.Message())
	}
	if want.msg != "" && st.Message() != want.msg {
		t.Errorf("message %q, want %q", st.Message(), want.msg)
	}
	for _, tok := range allTokens() {
		if strings.Contains(st.Message(), tok) {
			t.Errorf("status message %q contains a token", st.Message())
		}
	}
	if len(rejects) != 1 {
		t.Fatalf("%d reject events, want 1", len(rejects))
	}
	e := rejects[0].Err
	for _, tok := range allTokens() {
		if strings.Contains(e.Error(), tok) {
			t.Errorf("reject event %q contains a token", e.Error())
		}
	}
	if !errors.Is(e, want.kind) {
		t.Errorf("reject event %v, want kind %v", e, want.kind)
	}
	var te *tollgate.Error
	if !errors.As(e, &te) || te.Check != want.check {
		t.Errorf("reject event check %q, want %q", te.Check, want.check)
	}
}

// streamKind calls one streaming method, exchanging three messages, and
// returns the subject the handler saw and the number of messages that made
// it through.
type streamKind struct {
	name string
	call func(ctx context.Context, c testpb.TestServiceClient) (subject string, n int, err error)
}

var streamKinds = []streamKind{
	{"server-streaming", func(ctx context.Context, c testpb.TestServiceClient) (string, int, error) {
		params := []*testpb.ResponseParameters{{}, {}, {}}
		st, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params})
		if err != nil {
			return "", 0, err
		}
		n := 0
		for {
			_, err := st.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				return "", n, err
			}
			n++
		}
		return firstHeader(st.Header()), n, nil
	}},
	{"client-streaming", func(ctx context.Context, c testpb.TestServiceClient) (string, int, error) {
		st, err := c.StreamingInputCall(ctx)
		if err != nil {
			return "", 0, err
		}
		for range 3 {
			// After a rejection Send reports io.EOF; CloseAndRecv has the status.
			if err := st.Send(&testpb.StreamingInputCallRequest{}); err != nil {
				break
			}
		}
		resp, err := st.CloseAndRecv()
		if err != nil {
			return "", 0, err
		}
		return firstHeader(st.Header()), int(resp.GetAggregatedPayloadSize()), nil
	}},
	{"bidi-streaming", func(ctx context.Context, c testpb.TestServiceClient) (string, int, error) {
		st, err := c.FullDuplexCall(ctx)
		if err != nil {
			return "", 0, err
		}
		n := 0
		for range 3 {
			if err := st.Send(&testpb.StreamingOutputCallRequest{}); err != nil && err != io.EOF {
				return "", n, err
			}
			if _, err := st.Recv(); err != nil {
				return "", n, err
			}
			n++
		}
		if err := st.CloseSend(); err != nil {
			return "", n, err
		}
		if _, err := st.Recv(); err != io.EOF {
			return "", n, errors.New("stream did not end")
		}
		return firstHeader(st.Header()), n, nil
	}},
}

func firstHeader(md metadata.MD, err error) string {
	if err != nil || len(md.Get("x-subject")) == 0 {
		return ""
	}
	return md.Get("x-subject")[0]
}

func TestStreams(t *testing.T) {
	// The policy asks test:read for the service and test:read test:write
	// for FullDuplexCall (bidi).
	tests := []struct {
		name    string
		auth    []string
		subject string                // who the handler sees when let through
		codes   map[string]codes.Code // per stream kind; missing means OK
		kind    error
		check   string
	}{
		{name: "valid token with every scope", auth: []string{"Bearer " + tokWrite}, subject: "bob"},
		{name: "valid token without the method's scope", auth: []string{"Bearer " + tokRead}, subject: "alice",
			codes: map[string]codes.Code{"bidi-streaming": codes.PermissionDenied}, kind: tollgate.ErrInsufficientScope, check: "scope"},
		{name: "valid token without the service's scope", auth: []string{"Bearer " + tokNoScope},
			codes: allStreams(codes.PermissionDenied), kind: tollgate.ErrInsufficientScope, check: "scope"},
		{name: "no token",
			codes: allStreams(codes.Unauthenticated), kind: tollgate.ErrNoToken, check: "authorization"},
		{name: "invalid token", auth: []string{"Bearer " + tokForged},
			codes: allStreams(codes.Unauthenticated), kind: tollgate.ErrInvalidToken, check: "signature"},
		{name: "expired token", auth: []string{"Bearer " + tokExpired},
			codes: allStreams(codes.Unauthenticated), kind: tollgate.ErrExpired, check: "exp"},
		{name: "two authorization values", auth: []string{"Bearer " + tokWrite, "Bearer " + tokWrite},
			codes: allStreams(codes.InvalidArgument), kind: tollgate.ErrInvalidRequest, check: "authorization"},
		{name: "ill-formed token", auth: []string{"Bearer " + tokWrite + " x"},
			codes: allStreams(codes.InvalidArgument), kind: tollgate.ErrInvalidRequest, check: "authorization"},
		{name: "validation unavailable", auth: []string{"Bearer " + tokUnavailable},
			codes: allStreams(codes.Unavailable), kind: tollgate.ErrUnavailable, check: "jwks"},
	}
	for _, tt := range tests {
		for _, sk := range streamKinds {
			t.Run(tt.name+"/"+sk.name, func(t *testing.T) {
				var ev events
				conn := startGuarded(t, &testValidator{}, ev.observer())
				subject, n, err := sk.call(withAuth(t.Context(), tt.auth...), testpb.NewTestServiceClient(conn))
				accepts, rejects := ev.snapshot()
				code, rejected := tt.codes[sk.name]
				if !rejected {
					if err != nil {
						t.Fatalf("call failed: %v", err)
					}
					if subject != tt.subject || n != 3 {
						t.Errorf("handler saw %q and %d messages, want %q and 3", subject, n, tt.subject)
					}
					if len(accepts) != 1 || len(rejects) != 0 {
						t.Errorf("%d accepts and %d rejects, want 1 and 0", len(accepts), len(rejects))
					}
					return
				}
				if n != 0 {
					t.Errorf("%d messages got through a rejected stream", n)
				}
				checkRejection(t, err, rejects, rejection{code: code, kind: tt.kind, check: tt.check})
			})
		}
	}
}

func allStreams(c codes.Code) map[string]codes.Code {
	m := make(map[string]codes.Code)
	for _, sk := range streamKinds {
		m[sk.name] = c
	}
	return m
}

// TestPublicStream: a public streaming method (health Watch) is served
// without a token and without a call to the validator.
func TestPublicStream(t *testing.T) {
	v := &testValidator{}
	var ev events
	conn := startGuarded(t, v, ev.observer())
	for _, auth := range [][]string{nil, {"Bearer ###"}} {
		ctx, cancel := context.WithCancel(withAuth(t.Context(), auth...))
		w, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := w.Recv()
		cancel()
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("watch with %q: %v, %v", auth, resp, err)
		}
	}
	if accepts, rejects := ev.snapshot(); len(accepts)+len(rejects) != 0 || v.Calls() != 0 {
		t.Errorf("public stream: %d accepts, %d rejects, %d validator calls", len(accepts), len(rejects), v.Calls())
	}
}

// TestUnlistedMethodDenied: the same call is denied before validation when
// its service is unlisted, and reaches its handler once listed.
func TestUnlistedMethodDenied(t *testing.T) {
	for _, listed := range []bool{false, true} {
		name := map[bool]string{false: "unlisted", true: "listed"}[listed]
		t.Run(name, func(t *testing.T) {
			v := &testValidator{}
			methods, public := testPolicy()
			if listed {
				methods["/grpc.testing.UnimplementedService/"] = []string{"test:write"}
			}
			g, err := grpcauth.New(grpcauth.Config{Validator: v, Methods: methods, Public: public})
			if err != nil {
				t.Fatal(err)
			}
			conn := startServer(t, grpc.UnaryInterceptor(g.UnaryServerInterceptor()))
			err = invoke(withAuth(t.Context(), "Bearer "+tokWrite), conn, mUnimpl)
			want, calls := codes.PermissionDenied, 0
			if listed {
				want, calls = codes.Unimplemented, 1 // the handler's own answer
			}
			if status.Code(err) != want || v.Calls() != calls {
				t.Errorf("got %v with %d validator calls, want %v with %d", err, v.Calls(), want, calls)
			}
		})
	}
}

// TestChain: the Guard composes with other interceptors; those after it see
// the principal, and none after it run for a refused call.
func TestChain(t *testing.T) {
	for _, tt := range []struct {
		name    string
		auth    string
		code    codes.Code
		subject string
	}{
		{"accepted", "Bearer " + tokWrite, codes.OK, "bob"},
		{"refused", "Bearer " + tokForged, codes.Unauthenticated, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			methods, public := testPolicy()
			g, err := grpcauth.New(grpcauth.Config{Validator: &testValidator{}, Methods: methods, Public: public})
			if err != nil {
				t.Fatal(err)
			}
			seen := make(chan string, 4)
			record := func(ctx context.Context) {
				p, ok := tollgate.FromContext(ctx)
				if !ok {
					seen <- "<none>"
					return
				}
				seen <- p.Subject()
			}
			before := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				return h(ctx, req)
			}
			after := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				record(ctx)
				return h(ctx, req)
			}
			afterStream := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				record(ss.Context())
				return h(srv, ss)
			}
			conn := startServer(t,
				grpc.ChainUnaryInterceptor(before, g.UnaryServerInterceptor(), after),
				grpc.ChainStreamInterceptor(g.StreamServerInterceptor(), afterStream),
			)
			ctx := withAuth(t.Context(), tt.auth)
			err = invoke(ctx, conn, mEmpty)
			_, _, serr := streamKinds[2].call(ctx, testpb.NewTestServiceClient(conn))
			if status.Code(err) != tt.code || status.Code(serr) != tt.code {
				t.Fatalf("unary %v, stream %v, want %v", err, serr, tt.code)
			}
			close(seen)
			var got []string
			for s := range seen {
				got = append(got, s)
			}
			want := []string{tt.subject, tt.subject}
			if tt.subject == "" {
				want = nil
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("interceptors after the guard saw %q, want %q", got, want)
			}
		})
	}
}

// TestAuthFunc drives Guard.AuthFunc the way go-grpc-middleware's auth
// interceptors do (the examples module runs it under the real package): it
// learns the method from the context alone.
func TestAuthFunc(t *testing.T) {
	methods, public := testPolicy()
	g, err := grpcauth.New(grpcauth.Config{Validator: &testValidator{}, Methods: methods, Public: public})
	if err != nil {
		t.Fatal(err)
	}
	unary := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		ctx, err := g.AuthFunc(ctx)
		if err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		ctx, err := g.AuthFunc(ss.Context())
		if err != nil {
			return err
		}
		return h(srv, &ctxStream{ss, ctx})
	}
	conn := startServer(t, grpc.UnaryInterceptor(unary), grpc.StreamInterceptor(stream))
	c := testpb.NewTestServiceClient(conn)

	for _, tt := range []struct {
		name    string
		auth    string
		unary   codes.Code // UnaryCall requires test:write
		stream  codes.Code // StreamingOutputCall requires test:read
		subject string
	}{
		{"every scope", "Bearer " + tokWrite, codes.OK, codes.OK, "bob"},
		{"read only", "Bearer " + tokRead, codes.PermissionDenied, codes.OK, "alice"},
		{"forged", "Bearer " + tokForged, codes.Unauthenticated, codes.Unauthenticated, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := withAuth(t.Context(), tt.auth)
			resp, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
			if status.Code(err) != tt.unary {
				t.Errorf("unary: %v, want %v", err, tt.unary)
			}
			if err == nil && resp.GetUsername() != tt.subject {
				t.Errorf("unary handler saw %q, want %q", resp.GetUsername(), tt.subject)
			}
			subject, _, err := streamKinds[0].call(ctx, c)
			if status.Code(err) != tt.stream {
				t.Errorf("stream: %v, want %v", err, tt.stream)
			}
			if err == nil && subject != tt.subject {
				t.Errorf("stream handler saw %q, want %q", subject, tt.subject)
			}
		})
	}

	t.Run("outside a server", func(t *testing.T) {
		// No method in the context: nothing in the policy can match.
		ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer "+tokWrite))
		_, err := g.AuthFunc(ctx)
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("got %v, want PermissionDenied", err)
		}
	})
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }

// TestObserverDurations: events carry the time the decision took, on the
// injected clock.
func TestObserverDurations(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ticks := 0
	now := func() time.Time { ticks++; return base.Add(time.Duration(ticks) * time.Millisecond) }
	var ev events
	methods, public := testPolicy()
	g, err := grpcauth.New(grpcauth.Config{Validator: &testValidator{}, Methods: methods, Public: public, Observer: ev.observer(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	conn := startServer(t, grpc.UnaryInterceptor(g.UnaryServerInterceptor()))
	if err := invoke(withAuth(t.Context(), "Bearer "+tokRead), conn, mEmpty); err != nil {
		t.Fatal(err)
	}
	if err := invoke(withAuth(t.Context(), "Bearer "+tokForged), conn, mEmpty); status.Code(err) != codes.Unauthenticated {
		t.Fatal(err)
	}
	accepts, rejects := ev.snapshot()
	if len(accepts) != 1 || accepts[0].Duration != time.Millisecond {
		t.Errorf("accepts %+v, want one of 1ms", accepts)
	}
	if len(rejects) != 1 || rejects[0].Duration != time.Millisecond {
		t.Errorf("rejects %+v, want one of 1ms", rejects)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	v := &testValidator{}
	tests := []struct {
		name    string
		cfg     grpcauth.Config
		wantErr string // "" for a valid config
	}{
		{"valid", grpcauth.Config{Validator: v, Methods: map[string][]string{"/a.S/M": {"x"}, "/a.S/": nil}, Public: []string{grpcauth.HealthService}}, ""},
		{"only public", grpcauth.Config{Validator: v, Public: []string{grpcauth.HealthService}}, ""},
		{"full method public, its service not", grpcauth.Config{Validator: v, Methods: map[string][]string{"/a.S/": {"x"}}, Public: []string{"/a.S/Ping"}}, ""},
		{"no validator", grpcauth.Config{Methods: map[string][]string{"/a.S/M": {"x"}}}, "Validator is required"},
		{"nothing listed", grpcauth.Config{Validator: v}, "both empty"},
		{"no leading slash", grpcauth.Config{Validator: v, Methods: map[string][]string{"a.S/M": {"x"}}}, "leading slash"},
		{"service only, no slash", grpcauth.Config{Validator: v, Methods: map[string][]string{"/a.S": {"x"}}}, "want a full method name"},
		{"empty service", grpcauth.Config{Validator: v, Methods: map[string][]string{"//M": {"x"}}}, "want a full method name"},
		{"catch-all", grpcauth.Config{Validator: v, Methods: map[string][]string{"/": {"x"}}}, "want a full method name"},
		{"extra segment", grpcauth.Config{Validator: v, Methods: map[string][]string{"/a.S/M/x": {"x"}}}, "want a full method name"},
		{"space in name", grpcauth.Config{Validator: v, Methods: map[string][]string{"/a.S/M x": {"x"}}}, "space or control"},
		{"bad public name", grpcauth.Config{Validator: v, Public: []string{"grpc.health.v1.Health"}}, "Config.Public"},
		{"empty scope", grpcauth.Config{Validator: v, Methods: map[string][]string{"/a.S/M": {""}}}, "empty scope"},
		{"quote in scope", grpcauth.Config{Validator: v, Methods: map[string][]string{"/a.S/M": {`a"b`}}}, "scope-token"},
		{"space in scope", grpcauth.Config{Validator: v, Methods: map[string][]string{"/a.S/M": {"a b"}}}, "scope-token"},
		{"public and protected", grpcauth.Config{Validator: v, Methods: map[string][]string{"/a.S/": {"x"}}, Public: []string{"/a.S/"}}, "both in Config.Public and in Config.Methods"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := grpcauth.New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || g == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestStatusError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code codes.Code
		msg  string
	}{
		{"nil", nil, codes.OK, ""},
		{"no token", tollgate.ErrNoToken, codes.Unauthenticated, "tollgate: no bearer token"},
		{"invalid request", &tollgate.Error{Kind: tollgate.ErrInvalidRequest, Check: "authorization"}, codes.InvalidArgument, "tollgate: malformed authorization metadata (authorization)"},
		{"invalid token", &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "aud", Detail: "audience not accepted"}, codes.Unauthenticated, "tollgate: invalid token"},
		{"expired, wrapped", errors.Join(errors.New("ctx"), &tollgate.Error{Kind: tollgate.ErrExpired, Check: "exp"}), codes.Unauthenticated, "tollgate: token expired"},
		{"insufficient scope from RequireScope", tollgate.RequireScope(tollgate.NewContext(context.Background(), principal("x")), "orders:refund", "orders:read"),
			codes.PermissionDenied, "tollgate: permission denied (scope): requires orders:refund orders:read"},
		{"unsafe scope names dropped", &tollgate.Error{Kind: tollgate.ErrInsufficientScope, Check: "scope", Scopes: []string{"ok", "bad\"one", "also ok"}},
			codes.PermissionDenied, "tollgate: permission denied (scope): requires ok"},
		{"unavailable", &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "introspection"}, codes.Unavailable, "tollgate: token validation unavailable"},
		{"context deadline", context.DeadlineExceeded, codes.Unavailable, "tollgate: token validation unavailable"},
		{"plain error quoting a token", errors.New("bad token " + tokLeaky), codes.Unauthenticated, "tollgate: invalid token"},
		{"unknown check", &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "abc123"}, codes.Unauthenticated, "tollgate: invalid token"},
		{"unknown kind fails closed", &tollgate.Error{Kind: errors.New("mine"), Check: "exp"}, codes.Unauthenticated, "tollgate: invalid token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := grpcauth.StatusError(tt.err)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("StatusError(nil) = %v", err)
				}
				return
			}
			st, ok := status.FromError(err)
			if !ok || st.Code() != tt.code || st.Message() != tt.msg {
				t.Errorf("got %v %q, want %v %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
		})
	}
}

// callDirect runs g's unary interceptor on a server-side context carrying
// the given authorization values, and returns the principal the handler saw.
func callDirect(g *grpcauth.Guard, method string, auth ...string) (*tollgate.Principal, error) {
	md := metadata.MD{}
	for _, a := range auth {
		md.Append("authorization", a)
	}
	var p *tollgate.Principal
	_, err := g.UnaryServerInterceptor()(metadata.NewIncomingContext(context.Background(), md), nil,
		&grpc.UnaryServerInfo{FullMethod: method},
		func(ctx context.Context, _ any) (any, error) {
			p, _ = tollgate.FromContext(ctx)
			return nil, nil
		})
	return p, err
}

// TestPrecedence: a full method name wins over its service prefix, whichever
// of Methods and Public holds each.
func TestPrecedence(t *testing.T) {
	g, err := grpcauth.New(grpcauth.Config{
		Validator: &testValidator{},
		Methods: map[string][]string{
			"/grpc.health.v1.Health/Check": {"test:read"}, // protected inside a public service
			"/pkg.Orders/":                 {"test:write"},
		},
		Public: []string{grpcauth.HealthService, "/pkg.Orders/Ping"}, // public inside a protected service
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method  string
		auth    []string
		code    codes.Code
		subject string // "" for no principal
	}{
		{"/grpc.health.v1.Health/Check", nil, codes.Unauthenticated, ""},
		{"/grpc.health.v1.Health/Check", []string{"Bearer " + tokRead}, codes.OK, "alice"},
		{"/grpc.health.v1.Health/Watch", nil, codes.OK, ""},
		{"/pkg.Orders/Ping", nil, codes.OK, ""},
		{"/pkg.Orders/Ping", []string{"Bearer " + tokWrite}, codes.OK, ""}, // public: the token is ignored
		{"/pkg.Orders/Get", nil, codes.Unauthenticated, ""},
		{"/pkg.Orders/Get", []string{"Bearer " + tokWrite}, codes.OK, "bob"},
		{"/pkg.Orders/Get/x", []string{"Bearer " + tokWrite}, codes.PermissionDenied, ""}, // not a method of the service
		{"/pkg.OrdersX/Get", []string{"Bearer " + tokWrite}, codes.PermissionDenied, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+strings.Join(tt.auth, ","), func(t *testing.T) {
			p, err := callDirect(g, tt.method, tt.auth...)
			if status.Code(err) != tt.code {
				t.Fatalf("got %v, want %v", err, tt.code)
			}
			if got := subjectOf(p); got != tt.subject {
				t.Errorf("handler saw %q, want %q", got, tt.subject)
			}
		})
	}
}

func subjectOf(p *tollgate.Principal) string {
	if p == nil {
		return ""
	}
	return p.Subject()
}

// TestRejectEventRedaction: a custom validator's error reaches the observer
// intact, unless its text quotes the token.
func TestRejectEventRedaction(t *testing.T) {
	errUpstream := errors.New("upstream: connection refused")
	tests := []struct {
		name     string
		err      error
		keepsErr bool
		check    string
	}{
		{"plain error", errUpstream, true, ""},
		{"plain error quoting the token", errors.New("cannot parse " + tokLeaky), false, ""},
		{"tollgate error", &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "aud", Err: errUpstream}, true, "aud"},
		{"tollgate error quoting the token", &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "aud", Detail: "bad " + tokLeaky, Err: errUpstream}, false, "aud"},
		{"token as Check", &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: tokLeaky}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev events
			g, err := grpcauth.New(grpcauth.Config{
				Validator: tollgate.ValidatorFunc(func(context.Context, string) (*tollgate.Principal, error) { return nil, tt.err }),
				Methods:   map[string][]string{mEmpty: nil},
				Observer:  ev.observer(),
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := callDirect(g, mEmpty, "Bearer "+tokLeaky); status.Code(err) != codes.Unauthenticated {
				t.Fatalf("got %v, want Unauthenticated", err)
			}
			_, rejects := ev.snapshot()
			if len(rejects) != 1 {
				t.Fatalf("%d reject events", len(rejects))
			}
			e := rejects[0].Err
			if strings.Contains(e.Error(), tokLeaky) {
				t.Errorf("event %q quotes the token", e.Error())
			}
			if !errors.Is(e, tollgate.ErrInvalidToken) || e.Check != tt.check {
				t.Errorf("event %v, want kind invalid token and check %q", e, tt.check)
			}
			if errors.Is(e, errUpstream) != tt.keepsErr {
				t.Errorf("event %v: keeps the cause = %v, want %v", e, !tt.keepsErr, tt.keepsErr)
			}
		})
	}
}
