package grpcauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tollgate/tollgate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Service prefixes that servers commonly list in [Config.Public]: probes and
// tooling call them without credentials.
const (
	// HealthService is the standard health checking service
	// (google.golang.org/grpc/health/grpc_health_v1).
	HealthService = "/grpc.health.v1.Health/"
	// ReflectionService is the server reflection service
	// (google.golang.org/grpc/reflection), current version.
	ReflectionService = "/grpc.reflection.v1.ServerReflection/"
	// ReflectionServiceV1Alpha is the older server reflection service that
	// grpcurl and many tools still call.
	ReflectionServiceV1Alpha = "/grpc.reflection.v1alpha.ServerReflection/"
)

// Config configures a [Guard]. Validator and at least one entry of Methods or
// Public are required; everything else is optional.
type Config struct {
	// Validator decides whether a token is acceptable: the JWT validator, the
	// introspection client, a cache wrapping either, or a
	// [tollgate.ValidatorFunc]. Required.
	Validator tollgate.Validator

	// Methods maps a full method name ("/pkg.Service/Method") or a service
	// prefix ("/pkg.Service/", every method of the service) to the scopes a
	// token must all hold to call it. An empty list admits any valid token.
	// A full method name takes precedence over its service's prefix.
	//
	// A method that matches neither Methods nor Public is refused with
	// PermissionDenied before its token is even looked at: adding a method
	// to a service never exposes it by accident.
	Methods map[string][]string

	// Public lists full method names or service prefixes that are served
	// without any token, typically [HealthService] and the reflection
	// services. Their handlers see no principal, even when the caller sent a
	// token. An entry may not also appear in Methods; a full method name in
	// one and its service prefix in the other is allowed, and the full name
	// wins.
	Public []string

	// Observer receives an accept event for each request let through with a
	// token, and a reject event for each request refused (never for Public
	// methods). A reject event carries the validator's error, unless its text
	// quotes the token (only a custom validator's could): then only its kind,
	// check and scopes are kept. The zero value reports nothing.
	Observer tollgate.Observer

	// Now is the clock that times decisions for the Observer's events
	// (default time.Now).
	Now func() time.Time
}

// Guard authenticates and authorizes gRPC calls: it takes the bearer token
// from the "authorization" metadata, validates it with the configured
// [tollgate.Validator], checks the scopes the method requires and puts the
// [*tollgate.Principal] into the handler's context, where
// [tollgate.FromContext] finds it.
//
// A Guard is safe for concurrent use. Its interceptors and [Guard.AuthFunc]
// share one decision path and give the same answers.
type Guard struct {
	validator tollgate.Validator
	rules     map[string]rule
	observer  tollgate.Observer
	now       func() time.Time
	timed     bool // an observer wants durations
}

// rule is what the policy says about one method or service.
type rule struct {
	public bool
	scopes []string // all required; empty means any valid token
}

// New returns a Guard configured by cfg, or an error that says what is wrong
// with cfg: no validator, no methods, a malformed method name or scope, or a
// name listed both as Public and in Methods.
func New(cfg Config) (*Guard, error) {
	if cfg.Validator == nil {
		return nil, errors.New("grpcauth: Config.Validator is required")
	}
	if len(cfg.Methods) == 0 && len(cfg.Public) == 0 {
		return nil, errors.New("grpcauth: Config.Methods and Config.Public are both empty, so every call would be refused")
	}
	g := &Guard{
		validator: cfg.Validator,
		rules:     make(map[string]rule, len(cfg.Methods)+len(cfg.Public)),
		observer:  cfg.Observer,
		now:       cfg.Now,
	}
	if g.now == nil {
		g.now = time.Now
	}
	g.timed = cfg.Observer.OnAccept != nil || cfg.Observer.OnReject != nil
	for name, scopes := range cfg.Methods {
		if err := checkMethodName(name); err != nil {
			return nil, fmt.Errorf("grpcauth: Config.Methods: %w", err)
		}
		for _, s := range scopes {
			if err := checkScope(s); err != nil {
				return nil, fmt.Errorf("grpcauth: Config.Methods[%q]: %w", name, err)
			}
		}
		g.rules[name] = rule{scopes: tollgate.NewScopes(scopes...).Strings()}
	}
	for _, name := range cfg.Public {
		if err := checkMethodName(name); err != nil {
			return nil, fmt.Errorf("grpcauth: Config.Public: %w", err)
		}
		if r, ok := g.rules[name]; ok && !r.public {
			return nil, fmt.Errorf("grpcauth: %q is listed both in Config.Public and in Config.Methods", name)
		}
		g.rules[name] = rule{public: true}
	}
	return g, nil
}

// checkMethodName accepts "/service/method" and "/service/". Service and
// method names are not checked against the protobuf grammar, only for what
// can never match: empty parts, extra slashes, spaces and control characters.
func checkMethodName(name string) error {
	if !strings.HasPrefix(name, "/") {
		return fmt.Errorf("%q: want a full method name \"/pkg.Service/Method\" or a service prefix \"/pkg.Service/\" (with the leading slash)", name)
	}
	service, method, ok := strings.Cut(name[1:], "/")
	if !ok || service == "" || strings.Contains(method, "/") {
		return fmt.Errorf("%q: want a full method name \"/pkg.Service/Method\" or a service prefix \"/pkg.Service/\"", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("%q: space or control character in method name", name)
		}
	}
	return nil
}

// checkScope accepts an RFC 6749 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ),
// which also keeps scope names safe to put in status messages.
func checkScope(s string) error {
	if s == "" {
		return errors.New("empty scope name")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return fmt.Errorf("scope %q: not an RFC 6749 scope-token", s)
		}
	}
	return nil
}

// lookup finds the rule for a full method name: the name itself, else its
// service prefix. It allocates nothing.
func (g *Guard) lookup(fullMethod string) (rule, bool) {
	if r, ok := g.rules[fullMethod]; ok {
		return r, true
	}
	i := strings.LastIndexByte(fullMethod, '/')
	if i <= 0 {
		return rule{}, false
	}
	r, ok := g.rules[fullMethod[:i+1]]
	return r, ok
}

// authorize is the one decision path. It returns the context the handler
// gets, or a gRPC status error. The context carries the principal unless the
// method is public, in which case it is ctx itself and public is true.
func (g *Guard) authorize(ctx context.Context, fullMethod string) (_ context.Context, public bool, err error) {
	var start time.Time
	if g.timed {
		start = g.now()
	}
	r, ok := g.lookup(fullMethod)
	if !ok {
		return nil, false, g.reject(ctx, start, &tollgate.Error{
			Kind:   tollgate.ErrInsufficientScope,
			Check:  "method",
			Detail: "method not allowed by policy",
		})
	}
	if r.public {
		return ctx, true, nil
	}
	token, err := tokenFromMetadata(ctx)
	if err != nil {
		return nil, false, g.reject(ctx, start, tollgate.AsError(err))
	}
	p, err := g.validator.Validate(ctx, token)
	if err != nil {
		return nil, false, g.reject(ctx, start, tollgate.RedactToken(tollgate.AsError(err), token))
	}
	if p == nil {
		// A validator that breaks its contract has not decided anything.
		return nil, false, g.reject(ctx, start, &tollgate.Error{
			Kind:   tollgate.ErrUnavailable,
			Check:  "validator",
			Detail: "validator returned neither a principal nor an error",
		})
	}
	if !p.Scopes().HasAll(r.scopes...) {
		return nil, false, g.reject(ctx, start, &tollgate.Error{
			Kind:   tollgate.ErrInsufficientScope,
			Check:  "scope",
			Scopes: slices.Clone(r.scopes),
		})
	}
	if g.observer.OnAccept != nil {
		g.observer.OnAccept(ctx, tollgate.AcceptEvent{Principal: p, Duration: g.now().Sub(start)})
	}
	return tollgate.NewContext(ctx, p), false, nil
}

func (g *Guard) reject(ctx context.Context, start time.Time, e *tollgate.Error) error {
	if g.observer.OnReject != nil {
		g.observer.OnReject(ctx, tollgate.RejectEvent{Err: e, Duration: g.now().Sub(start)})
	}
	return statusError(e)
}

// tokenFromMetadata returns the bearer token of the one "authorization"
// value. Several values are refused outright, as RFC 6750 refuses a token
// sent more than once: which one a proxy or a validator would see is not
// defined.
func tokenFromMetadata(ctx context.Context) (string, error) {
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")
	switch len(vals) {
	case 0:
		return "", &tollgate.Error{Kind: tollgate.ErrNoToken, Check: "authorization", Detail: "no authorization metadata"}
	case 1:
		return tollgate.ParseAuthorization(vals[0])
	}
	return "", &tollgate.Error{Kind: tollgate.ErrInvalidRequest, Check: "authorization", Detail: "more than one authorization value"}
}

// UnaryServerInterceptor returns an interceptor that authorizes each unary
// call before its handler runs. Install it with [grpc.UnaryInterceptor] or,
// among others, with [grpc.ChainUnaryInterceptor].
func (g *Guard) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, _, err := g.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor returns an interceptor that authorizes each
// streaming call (server, client or bidirectional) before its handler runs.
// The handler's stream reports the principal through its Context. Install it
// with [grpc.StreamInterceptor] or [grpc.ChainStreamInterceptor].
func (g *Guard) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, public, err := g.authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		if public {
			return handler(srv, ss) // nothing to add to the context
		}
		return handler(srv, &serverStream{ServerStream: ss, ctx: ctx})
	}
}

// serverStream is a grpc.ServerStream whose Context carries the principal.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// AuthFunc authorizes the call whose server context is ctx and returns the
// context for its handler. It has the signature of the AuthFunc of
// github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth, so a
// server built on that package uses it directly:
//
//	auth.UnaryServerInterceptor(guard.AuthFunc)
//	auth.StreamServerInterceptor(guard.AuthFunc)
//
// It finds the method name with [grpc.Method]; called with a context that
// does not come from a gRPC server, it refuses with PermissionDenied.
func (g *Guard) AuthFunc(ctx context.Context) (context.Context, error) {
	method, _ := grpc.Method(ctx)
	ctx, _, err := g.authorize(ctx, method)
	return ctx, err
}
