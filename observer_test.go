package tollgate_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/tollgate/tollgate"
)

func TestJoinObserversCallsEachInOrder(t *testing.T) {
	var calls []string
	a := tollgate.Observer{
		OnReject:   func(context.Context, tollgate.RejectEvent) { calls = append(calls, "a.reject") },
		OnCacheHit: func(context.Context, tollgate.CacheEvent) { calls = append(calls, "a.hit") },
	}
	b := tollgate.Observer{
		OnReject: func(context.Context, tollgate.RejectEvent) { calls = append(calls, "b.reject") },
	}
	j := tollgate.JoinObservers(a, tollgate.Observer{}, b)
	ctx := context.Background()
	j.OnReject(ctx, tollgate.RejectEvent{})
	j.OnCacheHit(ctx, tollgate.CacheEvent{})
	if j.OnAccept != nil || j.OnKeyFetch != nil {
		t.Fatal("events nobody observes must stay nil, so callers can skip them")
	}
	if got := strings.Join(calls, ","); got != "a.reject,b.reject,a.hit" {
		t.Fatalf("calls = %s", got)
	}
}

func TestLogObserverLevelsAndContent(t *testing.T) {
	var buf bytes.Buffer
	obs := tollgate.NewLogObserver(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx := context.Background()
	p := tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: "alice", ClientID: "app", Kind: tollgate.KindJWT})
	obs.OnAccept(ctx, tollgate.AcceptEvent{Principal: p})
	obs.OnReject(ctx, tollgate.RejectEvent{Err: &tollgate.Error{Kind: tollgate.ErrExpired, Check: "exp", Detail: "expired 3m0s ago"}})
	obs.OnReject(ctx, tollgate.RejectEvent{Err: &tollgate.Error{Kind: tollgate.ErrUnavailable, Check: "jwks"}})
	obs.OnIntrospectFailure(ctx, tollgate.IntrospectEvent{Endpoint: "https://as/introspect", Status: 401, CredentialsRejected: true})
	obs.OnKeySkipped(ctx, tollgate.KeySkippedEvent{URL: "https://as/jwks", KeyID: "k1", Reason: "RSA key of 1024 bits"})
	obs.OnKeyFetchFailure(ctx, tollgate.KeyFetchEvent{URL: "https://as/jwks", Err: errors.New("status 500")})
	out := buf.String()
	for _, want := range []string{
		`level=DEBUG msg="tollgate: accepted" sub=alice client_id=app kind=jwt`,
		`level=INFO msg="tollgate: rejected"`, `kind=expired check=exp`,
		`level=WARN msg="tollgate: rejected"`, `kind=unavailable check=jwks`,
		`level=ERROR msg="tollgate: introspection credentials rejected by the authorization server"`,
		`level=WARN msg="tollgate: key skipped" url=https://as/jwks kid=k1`,
		`level=WARN msg="tollgate: key fetch failed"`, `error="status 500"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q\n%s", want, out)
		}
	}
}

func TestLogObserverSkipsDisabledLevels(t *testing.T) {
	var buf bytes.Buffer
	obs := tollgate.NewLogObserver(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx := context.Background()
	obs.OnCacheHit(ctx, tollgate.CacheEvent{Cache: "jwt"})
	obs.OnAccept(ctx, tollgate.AcceptEvent{Principal: tollgate.NewPrincipal(tollgate.PrincipalInfo{})})
	obs.OnReject(ctx, tollgate.RejectEvent{Err: &tollgate.Error{Kind: tollgate.ErrInvalidToken}})
	if buf.Len() != 0 {
		t.Fatalf("disabled levels were written: %s", buf.String())
	}
	obs.OnReject(ctx, tollgate.RejectEvent{Err: &tollgate.Error{Kind: tollgate.ErrUnavailable}})
	if buf.Len() == 0 {
		t.Fatal("an unavailable rejection must be logged at WARN")
	}
}

func BenchmarkLogObserverDisabled(b *testing.B) {
	obs := tollgate.NewLogObserver(slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelInfo})))
	ctx := context.Background()
	p := tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: "alice"})
	b.ReportAllocs()
	for b.Loop() {
		obs.OnAccept(ctx, tollgate.AcceptEvent{Principal: p})
		obs.OnCacheHit(ctx, tollgate.CacheEvent{Cache: "jwt"})
	}
}

func TestObserverIsZero(t *testing.T) {
	if !(tollgate.Observer{}).IsZero() {
		t.Fatal("the zero Observer is not zero")
	}
	for name, o := range map[string]tollgate.Observer{
		"OnKeyFetchFailure": {OnKeyFetchFailure: func(context.Context, tollgate.KeyFetchEvent) {}},
		"OnCacheMiss":       {OnCacheMiss: func(context.Context, tollgate.CacheEvent) {}},
		"log observer":      tollgate.NewLogObserver(nil),
	} {
		if o.IsZero() {
			t.Errorf("an Observer with %s is zero", name)
		}
	}
}
