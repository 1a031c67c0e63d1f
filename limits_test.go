package tollgate_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/tollgate/tollgate"
)

// TestHybridTokenSizeLimit: a JWT-shaped token of a configured issuer of
// exactly DefaultHybridMaxTokenBytes is read and routed to the JWT
// validator; one byte more is refused (check "size") before either
// validator sees it.
func TestHybridTokenSizeLimit(t *testing.T) {
	const iss = "https://as.example"
	head := "eyJhbGciOiJFUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+iss+`"}`)) + "."
	for _, tc := range []struct {
		name string
		size int
		ok   bool
	}{
		{"at the limit", tollgate.DefaultHybridMaxTokenBytes, true},
		{"one byte past", tollgate.DefaultHybridMaxTokenBytes + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var toJWT, toIntro int
			jwt := tollgate.ValidatorFunc(func(context.Context, string) (*tollgate.Principal, error) {
				toJWT++
				return tollgate.NewPrincipal(tollgate.PrincipalInfo{Subject: "alice"}), nil
			})
			intro := tollgate.ValidatorFunc(func(context.Context, string) (*tollgate.Principal, error) {
				toIntro++
				return nil, tollgate.ErrInvalidToken
			})
			h, err := tollgate.NewHybrid(tollgate.HybridConfig{JWT: jwt, JWTIssuers: []string{iss}, Introspection: intro})
			if err != nil {
				t.Fatal(err)
			}
			token := head + strings.Repeat("A", tc.size-len(head)) // the signature is the padding
			p, err := h.Validate(context.Background(), token)
			if tc.ok {
				if err != nil || p == nil || toJWT != 1 || toIntro != 0 {
					t.Fatalf("Validate = %v; %d to JWT, %d to introspection", err, toJWT, toIntro)
				}
				return
			}
			wantErr(t, err, tollgate.ErrInvalidToken, "size")
			if toJWT+toIntro != 0 {
				t.Fatalf("%d to JWT, %d to introspection; want neither", toJWT, toIntro)
			}
		})
	}
}
