// Package grpcauth protects gRPC servers with tollgate: it takes the bearer
// token from the "authorization" metadata, validates it with any
// [tollgate.Validator], checks the scopes each method requires, and hands the
// [*tollgate.Principal] to the handler, where [tollgate.FromContext] reads it
// (for streams, from the stream's Context).
//
// A [Guard] holds the policy, checked once by [New]:
//
//	guard, err := grpcauth.New(grpcauth.Config{
//		Validator: v, // the JWT validator, introspection, a cache around them...
//		Methods: map[string][]string{
//			"/shop.Orders/":       {"orders:read"},  // every method of the service
//			"/shop.Orders/Refund": {"orders:write"}, // a method overrides its service
//		},
//		Public: []string{grpcauth.HealthService, grpcauth.ReflectionService},
//	})
//
// A method that appears neither in Methods nor in Public is refused, so a
// method added to a service is never exposed by accident. Public methods are
// served without a token and their handlers see no principal.
//
// # Installing
//
// With grpc alone, install both interceptors, alone or among others:
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(logging, guard.UnaryServerInterceptor()),
//		grpc.ChainStreamInterceptor(logging, guard.StreamServerInterceptor()),
//	)
//
// With github.com/grpc-ecosystem/go-grpc-middleware/v2, [Guard.AuthFunc] is
// an auth.AuthFunc (it finds the method with [grpc.Method]):
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(auth.UnaryServerInterceptor(guard.AuthFunc)),
//		grpc.ChainStreamInterceptor(auth.StreamServerInterceptor(guard.AuthFunc)),
//	)
//
// The policy applies there too: Public methods pass AuthFunc without a token,
// so no selector is needed to exempt them. Beware that a service implementing
// that package's ServiceAuthFuncOverride replaces AuthFunc, and so the Guard,
// for all of its methods.
//
// # Status codes
//
// Every refusal is a gRPC status whose message is fixed text and the name of
// the failed check; it never quotes the token or the validator's own error
// text:
//
//	no token, another scheme, invalid or expired token  Unauthenticated
//	two authorization values, an ill-formed token       InvalidArgument
//	insufficient scope, or a method not in the policy   PermissionDenied
//	validation unavailable (keys or AS unreachable)     Unavailable
//
// Handlers that check further scopes with [tollgate.RequireScope] answer with
// [StatusError], which maps any tollgate error the same way. Each decision is
// reported to [Config.Observer] (an accept with the principal, or a reject
// with the [*tollgate.Error]), except for public methods.
package grpcauth
