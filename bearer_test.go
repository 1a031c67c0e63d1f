package tollgate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tollgate/tollgate"
)

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		name   string
		header string
		token  string
		kind   error // nil: accepted
	}{
		{"canonical", "Bearer abc.def.ghi", "abc.def.ghi", nil},
		{"lower case scheme", "bearer abc", "abc", nil},
		{"upper case scheme", "BEARER abc", "abc", nil},
		{"mixed case scheme", "BeArEr abc", "abc", nil},
		{"several spaces", "Bearer    abc", "abc", nil},
		{"all b64token characters", "Bearer aZ09-._~+/==", "aZ09-._~+/==", nil},
		{"padding only at the end", "Bearer abc==", "abc==", nil},
		{"empty header", "", "", tollgate.ErrNoToken},
		{"basic scheme", "Basic dXNlcjpwYXNz", "", tollgate.ErrNoToken},
		{"dpop scheme", "DPoP abc", "", tollgate.ErrNoToken},
		{"scheme that starts with bearer", "Bearerish abc", "", tollgate.ErrNoToken},
		{"short other scheme", "Bea", "", tollgate.ErrNoToken},
		{"bearer without token", "Bearer", "", tollgate.ErrInvalidRequest},
		{"bearer with spaces only", "Bearer   ", "", tollgate.ErrInvalidRequest},
		{"tab separator", "Bearer\tabc", "", tollgate.ErrInvalidRequest},
		{"comma after scheme", "Bearer,abc", "", tollgate.ErrInvalidRequest},
		{"space inside token", "Bearer abc def", "", tollgate.ErrInvalidRequest},
		{"trailing space", "Bearer abc ", "", tollgate.ErrInvalidRequest},
		{"padding in the middle", "Bearer ab=c", "", tollgate.ErrInvalidRequest},
		{"padding only", "Bearer ==", "", tollgate.ErrInvalidRequest},
		{"quote", `Bearer ab"c`, "", tollgate.ErrInvalidRequest},
		{"control character", "Bearer ab\x00c", "", tollgate.ErrInvalidRequest},
		{"non-ASCII", "Bearer abç", "", tollgate.ErrInvalidRequest},
		{"auth-param form", `Bearer token="abc"`, "", tollgate.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tollgate.ParseAuthorization(tt.header)
			if tt.kind == nil {
				if err != nil || got != tt.token {
					t.Fatalf("ParseAuthorization(%q) = %q, %v; want %q, nil", tt.header, got, err, tt.token)
				}
				return
			}
			if !errors.Is(err, tt.kind) || got != "" {
				t.Fatalf("ParseAuthorization(%q) = %q, %v; want error %v", tt.header, got, err, tt.kind)
			}
			var te *tollgate.Error
			if !errors.As(err, &te) || te.Check != "authorization" {
				t.Fatalf("error %v is not an *Error with Check authorization", err)
			}
			if rest := strings.TrimSpace(tt.header[min(len(tt.header), 6):]); len(rest) >= 3 && strings.Contains(err.Error(), rest) {
				t.Fatalf("error %q echoes the credentials", err)
			}
		})
	}
}

func TestParseAuthorizationErrorsAreNotShared(t *testing.T) {
	_, err1 := tollgate.ParseAuthorization("Bearer")
	var e1 *tollgate.Error
	errors.As(err1, &e1)
	e1.Detail = "changed by a caller"
	_, err2 := tollgate.ParseAuthorization("Bearer")
	if strings.Contains(err2.Error(), "changed by a caller") {
		t.Fatal("ParseAuthorization returns a shared *Error that callers can change")
	}
}

func TestCheckToken(t *testing.T) {
	if err := tollgate.CheckToken("abc.DEF-_~+/=="); err != nil {
		t.Fatalf("valid token rejected: %v", err)
	}
	for _, bad := range []string{"", "=", "a b", "a\nb", "a=b", "a,b", "é"} {
		if err := tollgate.CheckToken(bad); !errors.Is(err, tollgate.ErrInvalidRequest) {
			t.Errorf("CheckToken(%q) = %v, want ErrInvalidRequest", bad, err)
		}
	}
}

// FuzzParseAuthorization checks the parser against the grammar: whatever it
// accepts is a Bearer credential whose token is a b64token that occurs at the
// end of the header, and it never panics.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c", "Basic x", "Bearer", "Bearer  a==", "Bearer a=b", "Bearer\tx", "", "BEARER ~+/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		token, err := tollgate.ParseAuthorization(header)
		if err != nil {
			if token != "" {
				t.Fatalf("token %q returned with error %v", token, err)
			}
			if !errors.Is(err, tollgate.ErrNoToken) && !errors.Is(err, tollgate.ErrInvalidRequest) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if !strings.EqualFold(header[:7], "bearer ") || !strings.HasSuffix(header, token) {
			t.Fatalf("accepted %q as %q", header, token)
		}
		if strings.TrimLeft(header[6:], " ") != token {
			t.Fatalf("token %q is not the rest of %q", token, header)
		}
		if tollgate.CheckToken(token) != nil {
			t.Fatalf("accepted token %q fails CheckToken", token)
		}
		trimmed := strings.TrimRight(token, "=")
		if trimmed == "" || strings.ContainsAny(trimmed, "= \t\"\\,") {
			t.Fatalf("accepted ill-formed token %q", token)
		}
	})
}

func BenchmarkParseAuthorization(b *testing.B) {
	header := "Bearer " + strings.Repeat("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0", 19) + "." + strings.Repeat("x", 342)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tollgate.ParseAuthorization(header); err != nil {
			b.Fatal(err)
		}
	}
}
