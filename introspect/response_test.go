package introspect

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tollgate/tollgate"
)

var testNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// unix returns testNow+d as a NumericDate.
func unix(d time.Duration) string { return strconv.FormatInt(testNow.Add(d).Unix(), 10) }

// wantErr checks that err matches kind and names check.
func wantErr(t *testing.T, err, kind error, check string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want %v (%s)", kind, check)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v; want %v", err, kind)
	}
	var te *tollgate.Error
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T); want a *tollgate.Error", err, err)
	}
	if te.Check != check {
		t.Fatalf("Check = %q (%v); want %q", te.Check, err, check)
	}
}

func TestParseResponse(t *testing.T) {
	exp := unix(time.Hour)
	ck := &checks{issuer: "https://as.example", audiences: []string{"https://api.example"}, leeway: 30 * time.Second}
	good := `{"active":true,"iss":"https://as.example","aud":"https://api.example","exp":` + exp + `}`
	for _, tc := range []struct {
		name  string
		body  string
		kind  error  // nil: accepted
		check string // for errors of tollgate.Error
	}{
		{"active", good, nil, ""},
		{"active with whitespace", " {\n\"active\" : true , \"exp\":" + exp + ",\"aud\":[\"x\",\"https://api.example\"]}\n", nil, ""},
		{"inactive", `{"active":false}`, tollgate.ErrInvalidToken, "active"},
		{"active string", `{"active":"true","aud":"https://api.example"}`, tollgate.ErrInvalidToken, "active"},
		{"active number", `{"active":1,"aud":"https://api.example"}`, tollgate.ErrInvalidToken, "active"},
		{"active null", `{"active":null,"aud":"https://api.example"}`, tollgate.ErrInvalidToken, "active"},
		{"active missing", `{"aud":"https://api.example"}`, tollgate.ErrInvalidToken, "active"},
		{"active in another case", `{"Active":true,"aud":"https://api.example"}`, tollgate.ErrInvalidToken, "active"},
		{"active false then other case true", `{"active":false,"ACTIVE":true,"aud":"https://api.example"}`, tollgate.ErrInvalidToken, "active"},
		{"duplicate active", `{"active":false,"active":true,"aud":"https://api.example"}`, tollgate.ErrInvalidToken, "claims"},
		{"duplicate escaped active", `{"active":true,"\u0061ctive":false,"aud":"https://api.example"}`, tollgate.ErrInvalidToken, "claims"},
		{"duplicate nested", `{"active":true,"aud":"https://api.example","x":{"a":1,"a":2}}`, tollgate.ErrInvalidToken, "claims"},
		{"same name at two depths", `{"active":true,"aud":"https://api.example","x":{"active":false}}`, nil, ""},
		{"cnf", `{"active":true,"aud":"https://api.example","cnf":{"jkt":"abc"}}`, tollgate.ErrInvalidToken, "cnf"},
		{"cnf null", `{"active":true,"aud":"https://api.example","cnf":null}`, tollgate.ErrInvalidToken, "cnf"},
		{"token_type DPoP", `{"active":true,"aud":"https://api.example","token_type":"DPoP"}`, tollgate.ErrInvalidToken, "token_type"},
		{"token_type N_A", `{"active":true,"aud":"https://api.example","token_type":"N_A"}`, tollgate.ErrInvalidToken, "token_type"},
		{"token_type not a string", `{"active":true,"aud":"https://api.example","token_type":1}`, tollgate.ErrInvalidToken, "token_type"},
		{"token_type bearer lower case", `{"active":true,"aud":"https://api.example","token_type":"bearer"}`, nil, ""},
		{"expired", `{"active":true,"aud":"https://api.example","exp":` + unix(-time.Second) + `}`, tollgate.ErrExpired, "exp"},
		{"expires now", `{"active":true,"aud":"https://api.example","exp":` + unix(0) + `}`, tollgate.ErrExpired, "exp"},
		{"expires in a second", `{"active":true,"aud":"https://api.example","exp":` + unix(time.Second) + `}`, nil, ""},
		{"exp fraction", `{"active":true,"aud":"https://api.example","exp":` + unix(0) + `.5}`, nil, ""},
		{"exp string", `{"active":true,"aud":"https://api.example","exp":"` + exp + `"}`, tollgate.ErrInvalidToken, "exp"},
		{"exp negative", `{"active":true,"aud":"https://api.example","exp":-1}`, tollgate.ErrInvalidToken, "exp"},
		{"exp huge", `{"active":true,"aud":"https://api.example","exp":1e300}`, tollgate.ErrInvalidToken, "exp"},
		{"no exp", `{"active":true,"aud":"https://api.example"}`, nil, ""},
		{"nbf future", `{"active":true,"aud":"https://api.example","nbf":` + unix(time.Minute) + `}`, tollgate.ErrExpired, "nbf"},
		{"nbf within leeway", `{"active":true,"aud":"https://api.example","nbf":` + unix(20*time.Second) + `}`, nil, ""},
		{"iat not a number", `{"active":true,"aud":"https://api.example","iat":true}`, tollgate.ErrInvalidToken, "iat"},
		{"foreign issuer", `{"active":true,"aud":"https://api.example","iss":"https://evil.example"}`, tollgate.ErrInvalidToken, "iss"},
		{"issuer not a string", `{"active":true,"aud":"https://api.example","iss":["https://as.example"]}`, tollgate.ErrInvalidToken, "iss"},
		{"foreign audience", `{"active":true,"aud":"https://other.example"}`, tollgate.ErrInvalidToken, "aud"},
		{"foreign audiences", `{"active":true,"aud":["https://other.example","x"]}`, tollgate.ErrInvalidToken, "aud"},
		{"no audience", `{"active":true}`, tollgate.ErrInvalidToken, "aud"},
		{"audience of numbers", `{"active":true,"aud":[1]}`, tollgate.ErrInvalidToken, "aud"},
		{"sub not a string", `{"active":true,"aud":"https://api.example","sub":42}`, tollgate.ErrInvalidToken, "sub"},
		{"scope array", `{"active":true,"aud":"https://api.example","scope":["a"]}`, tollgate.ErrInvalidToken, "scope"},
		{"null members", `{"active":true,"aud":"https://api.example","sub":null,"username":null,"exp":null}`, nil, ""},
		{"not JSON", `<html>`, errGarbage, ""},
		{"empty", ``, errGarbage, ""},
		{"array", `[{"active":true}]`, errGarbage, ""},
		{"string", `"active"`, errGarbage, ""},
		{"trailing object", good + `{"active":false}`, errGarbage, ""},
		{"trailing garbage", good + `x`, errGarbage, ""},
		{"truncated", good[:len(good)-1], errGarbage, ""},
		{"invalid UTF-8", `{"active":true,"aud":"https://api.example","sub":"` + "\xff" + `"}`, errGarbage, ""},
		{"too deep", `{"active":true,"aud":"https://api.example","x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, errGarbage, ""},
		{"deep but allowed", `{"active":true,"aud":"https://api.example","x":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`, nil, ""},
		// The answer object is level 1: 31 nested containers in it reach
		// maxDepth (32, as SECURITY.md documents), 32 pass it.
		{"at the depth limit", `{"active":true,"aud":"https://api.example","x":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`, nil, ""},
		{"one level past the depth limit", `{"active":true,"aud":"https://api.example","x":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`, errGarbage, ""},
		{"objects at the depth limit", `{"active":true,"aud":"https://api.example","x":` + strings.Repeat(`{"a":`, 31) + "1" + strings.Repeat("}", 31) + `}`, nil, ""},
		{"objects one level past the depth limit", `{"active":true,"aud":"https://api.example","x":` + strings.Repeat(`{"a":`, 32) + "1" + strings.Repeat("}", 32) + `}`, errGarbage, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseResponse([]byte(tc.body), testNow, ck)
			switch {
			case tc.kind == nil:
				if err != nil || p == nil {
					t.Fatalf("rejected: %v", err)
				}
			case tc.kind == errGarbage:
				if !errors.Is(err, errGarbage) {
					t.Fatalf("err = %v; want errGarbage", err)
				}
			default:
				wantErr(t, err, tc.kind, tc.check)
			}
		})
	}
}

func TestParseResponsePrincipal(t *testing.T) {
	body := `{"active":true,"sub":"alice","client_id":"app","username":"Alice A.","scope":"read  write read",` +
		`"aud":["a","b"],"exp":` + unix(time.Hour) + `,"iat":` + unix(-time.Minute) + `,"jti":"j1","tenant":"t7"}`
	t.Run("issuer configured, answer without iss", func(t *testing.T) {
		p, err := parseResponse([]byte(body), testNow, &checks{issuer: "https://as.example", audiences: []string{"b"}})
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind() != tollgate.KindOpaque || p.Subject() != "alice" || p.ClientID() != "app" || p.Username() != "Alice A." ||
			p.TokenID() != "j1" || p.Issuer() != "https://as.example" {
			t.Errorf("principal = %v %q %q %q %q %q", p.Kind(), p.Subject(), p.ClientID(), p.Username(), p.TokenID(), p.Issuer())
		}
		if got := p.Scopes().String(); got != "read write" {
			t.Errorf("scopes = %q", got)
		}
		if got := p.Audiences(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
			t.Errorf("audiences = %q", got)
		}
		if !p.ExpiresAt().Equal(testNow.Add(time.Hour)) || !p.IssuedAt().Equal(testNow.Add(-time.Minute)) {
			t.Errorf("exp, iat = %v, %v", p.ExpiresAt(), p.IssuedAt())
		}
		var c struct {
			Tenant string `json:"tenant"`
		}
		if err := p.Claims(&c); err != nil || c.Tenant != "t7" {
			t.Errorf("Claims: %v, %+v", err, c)
		}
	})
	t.Run("no checks configured", func(t *testing.T) {
		p, err := parseResponse([]byte(body), testNow, &checks{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Issuer() != "" {
			t.Errorf("Issuer = %q, want none", p.Issuer())
		}
	})
}

// FuzzParseResponse feeds hostile answers to the parser: it must never panic,
// and whatever it accepts must be an active, unexpired JSON object.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		`{"active":true}`,
		`{"active":false}`,
		`{"active":true,"exp":` + unix(time.Hour) + `,"aud":["a"],"scope":"x y","cnf":{}}`,
		`{"active":true,"active":false}`,
		`{"active":"true"}`,
		`{"active":true,"token_type":"DPoP","nbf":1e9,"iat":1.5}`,
		`[]`, `{`, `{"a":[{"b":{"c":null}}]}`,
	} {
		f.Add([]byte(s))
	}
	ck := &checks{leeway: time.Minute}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseResponse(body, testNow, ck)
		if err != nil {
			if p != nil {
				t.Fatal("principal and error")
			}
			var te *tollgate.Error
			if !errors.Is(err, errGarbage) && !errors.As(err, &te) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatal("accepted invalid JSON")
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("accepted a non-object: %v", err)
		}
		if string(m["active"]) != "true" {
			t.Fatalf("accepted active = %s", m["active"])
		}
		if _, ok := m["cnf"]; ok {
			t.Fatal("accepted cnf")
		}
		if exp := p.ExpiresAt(); !exp.IsZero() && !testNow.Before(exp) {
			t.Fatalf("accepted exp %v at %v", exp, testNow)
		}
		if p.Kind() != tollgate.KindOpaque {
			t.Fatal("kind")
		}
	})
}
