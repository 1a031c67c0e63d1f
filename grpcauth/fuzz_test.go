package grpcauth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/grpcauth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// FuzzUnaryInterceptor feeds the interceptor what a caller controls: the
// authorization metadata and, with an unknown-service handler, the method
// name. Whatever comes in, the call is let through only with a principal
// that satisfies the policy (or for a public method), and a refusal carries
// one of the fixed messages: nothing the caller sent is ever echoed.
func FuzzUnaryInterceptor(f *testing.F) {
	for _, m := range []string{mEmpty, mUnary, mCacheable, mBidi, mUnimpl, mHealth, "", "/", "//", "/grpc.testing.TestService/", "/grpc.testing.TestService/a/b"} {
		for _, a := range []string{"", "Bearer " + tokRead, "bearer " + tokWrite, "Bearer " + tokNoScope, "Bearer " + tokExpired,
			"Bearer " + tokUnavailable, "Bearer " + tokLeaky, "Bearer " + tokNil, "Bearer " + tokCheckLeak, "Basic x", "Bearer", "Bearer a b", "Bearer  =="} {
			f.Add(m, a, false)
		}
	}
	f.Add(mEmpty, "Bearer "+tokRead, true)

	methods, public := testPolicy()
	g, err := grpcauth.New(grpcauth.Config{Validator: &testValidator{}, Methods: methods, Public: public})
	if err != nil {
		f.Fatal(err)
	}
	intercept := g.UnaryServerInterceptor()
	// Every answer the interceptor can give under testPolicy: fixed text,
	// optionally a check name of tollgate's vocabulary, and the policy's
	// scopes.
	allowed := map[string]codes.Code{
		"tollgate: permission denied (method)":                               codes.PermissionDenied,
		"tollgate: permission denied (scope): requires test:read":            codes.PermissionDenied,
		"tollgate: permission denied (scope): requires test:write":           codes.PermissionDenied,
		"tollgate: permission denied (scope): requires test:read test:write": codes.PermissionDenied,
	}
	for text, code := range map[string]codes.Code{
		"no bearer token":                  codes.Unauthenticated,
		"malformed authorization metadata": codes.InvalidArgument,
		"invalid token":                    codes.Unauthenticated,
		"token expired":                    codes.Unauthenticated,
		"token validation unavailable":     codes.Unavailable,
	} {
		allowed["tollgate: "+text] = code
		for _, check := range []string{"authorization", "format", "size", "header", "alg", "typ", "kid", "key",
			"signature", "iss", "aud", "exp", "nbf", "iat", "sub", "cnf", "claims", "scope", "active", "jwks",
			"introspection", "context", "method", "validator"} {
			allowed["tollgate: "+text+" ("+check+")"] = code
		}
	}

	f.Fuzz(func(t *testing.T, method, auth string, twice bool) {
		md := metadata.MD{}
		if auth != "" {
			md.Append("authorization", auth)
			if twice {
				md.Append("authorization", auth)
			}
		}
		ctx := metadata.NewIncomingContext(context.Background(), md)
		var handlerCtx context.Context
		_, err := intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, _ any) (any, error) {
			handlerCtx = ctx
			return nil, nil
		})
		if err != nil {
			st, _ := status.FromError(err)
			if code, ok := allowed[st.Message()]; !ok || code != st.Code() {
				t.Fatalf("refusal %v %q is not one of the fixed answers", st.Code(), st.Message())
			}
			if handlerCtx != nil {
				t.Fatal("handler ran for a refused call")
			}
			return
		}
		if handlerCtx == nil {
			t.Fatal("handler did not run for an accepted call")
		}
		p, ok := tollgate.FromContext(handlerCtx)
		if strings.HasPrefix(method, grpcauth.HealthService) {
			if ok {
				t.Fatal("public method got a principal")
			}
			return
		}
		if !ok {
			t.Fatalf("protected method %q let through without a principal", method)
		}
		var need []string
		switch {
		case method == mCacheable:
		case method == mUnary:
			need = []string{"test:write"}
		case method == mBidi:
			need = []string{"test:read", "test:write"}
		case strings.HasPrefix(method, "/grpc.testing.TestService/") && strings.Count(method, "/") == 2:
			need = []string{"test:read"}
		default:
			t.Fatalf("unlisted method %q let through", method)
		}
		if !p.Scopes().HasAll(need...) {
			t.Fatalf("%q let through with scopes %q", method, p.Scopes())
		}
	})
}
