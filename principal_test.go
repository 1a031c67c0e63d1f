package tollgate_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate"
)

func TestPrincipalCopiesItsInput(t *testing.T) {
	aud := []string{"https://api.example"}
	claims := []byte(`{"sub":"alice","tenant":"acme"}`)
	exp := time.Unix(2000000000, 0)
	p := tollgate.NewPrincipal(tollgate.PrincipalInfo{
		Subject: "alice", ClientID: "app", Username: "Alice", Issuer: "https://as.example",
		Audiences: aud, Scopes: tollgate.ParseScopes("read write"), ExpiresAt: exp,
		IssuedAt: exp.Add(-time.Hour), TokenID: "jti-1", Kind: tollgate.KindJWT,
		Confirmation: tollgate.Confirmation{JKT: "thumb"}, Claims: claims,
	})
	aud[0] = "changed"
	claims[2] = 'X'
	if got := p.Audiences(); !slices.Equal(got, []string{"https://api.example"}) {
		t.Fatalf("Audiences changed with the input slice: %q", got)
	}
	p.Audiences()[0] = "changed through the accessor"
	if !p.HasAudience("https://api.example") || p.HasAudience("changed through the accessor") {
		t.Fatal("Audiences must return a copy")
	}
	var c struct {
		Sub    string `json:"sub"`
		Tenant string `json:"tenant"`
	}
	if err := p.Claims(&c); err != nil || c.Sub != "alice" || c.Tenant != "acme" {
		t.Fatalf("Claims = %+v, %v", c, err)
	}
	raw := p.ClaimsJSON()
	raw[0] = '['
	if err := p.Claims(&c); err != nil {
		t.Fatal("ClaimsJSON must return a copy")
	}
	if p.Subject() != "alice" || p.ClientID() != "app" || p.Username() != "Alice" || p.Issuer() != "https://as.example" ||
		!p.ExpiresAt().Equal(exp) || !p.IssuedAt().Equal(exp.Add(-time.Hour)) || p.TokenID() != "jti-1" ||
		p.Kind() != tollgate.KindJWT || p.Kind().String() != "jwt" || p.Confirmation().JKT != "thumb" ||
		p.Confirmation().IsZero() || !p.Scopes().HasAll("read", "write") {
		t.Fatalf("accessors do not return the input: %+v", p)
	}
}

func TestPrincipalWithoutClaims(t *testing.T) {
	p := tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: "svc", Kind: tollgate.KindOpaque})
	var m map[string]any
	if err := p.Claims(&m); err != nil || len(m) != 0 {
		t.Fatalf("Claims = %v, %v; want empty object", m, err)
	}
	if string(p.ClaimsJSON()) != "{}" || p.Kind().String() != "opaque" || !p.Confirmation().IsZero() {
		t.Fatal("unexpected zero values")
	}
	bad := tollgate.NewPrincipal(tollgate.PrincipalInfo{Claims: json.RawMessage(`[1]`)})
	if err := bad.Claims(&m); err == nil {
		t.Fatal("claims that are not an object must fail to decode into a map")
	}
}

func TestContext(t *testing.T) {
	ctx := context.Background()
	if _, ok := tollgate.FromContext(ctx); ok {
		t.Fatal("empty context has a principal")
	}
	if _, ok := tollgate.FromContext(tollgate.NewContext(ctx, nil)); ok {
		t.Fatal("a nil principal must not count as present")
	}
	p := tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: "alice", Scopes: tollgate.ParseScopes("orders:read orders:write")})
	ctx = tollgate.NewContext(ctx, p)
	got, ok := tollgate.FromContext(ctx)
	if !ok || got != p {
		t.Fatal("FromContext does not return the stored principal")
	}
}

func TestRequireScope(t *testing.T) {
	p := tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: "alice", Scopes: tollgate.ParseScopes("orders:read orders:write")})
	ctx := tollgate.NewContext(context.Background(), p)
	if err := tollgate.RequireScope(ctx, "orders:read", "orders:write"); err != nil {
		t.Fatalf("RequireScope with held scopes: %v", err)
	}
	if err := tollgate.RequireAnyScope(ctx, "admin", "orders:write"); err != nil {
		t.Fatalf("RequireAnyScope with one held scope: %v", err)
	}
	err := tollgate.RequireScope(ctx, "orders:read", "admin")
	var te *tollgate.Error
	if !errors.Is(err, tollgate.ErrInsufficientScope) || !errors.As(err, &te) ||
		!slices.Equal(te.Scopes, []string{"orders:read", "admin"}) || te.Check != "scope" {
		t.Fatalf("RequireScope missing admin = %#v", err)
	}
	err = tollgate.RequireAnyScope(ctx, "admin", "root")
	if !errors.Is(err, tollgate.ErrInsufficientScope) || !errors.As(err, &te) || !slices.Equal(te.Scopes, []string{"admin", "root"}) {
		t.Fatalf("RequireAnyScope with none held = %v", err)
	}
	if err := tollgate.RequireScope(context.Background(), "orders:read"); !errors.Is(err, tollgate.ErrNoToken) {
		t.Fatalf("RequireScope without principal = %v, want ErrNoToken", err)
	}
	for name, err := range map[string]error{"RequireScope": tollgate.RequireScope(ctx), "RequireAnyScope": tollgate.RequireAnyScope(ctx)} {
		if !errors.Is(err, tollgate.ErrInsufficientScope) {
			t.Errorf("%s() with no scope named = %v, want a refusal (fail closed)", name, err)
		}
	}
	if err := tollgate.RequireAnyScope(context.Background(), "orders:read"); !errors.Is(err, tollgate.ErrNoToken) {
		t.Fatalf("RequireAnyScope without principal = %v, want ErrNoToken", err)
	}
}
