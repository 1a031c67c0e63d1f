package main

import (
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
	"unicode"
)

func TestNormalizePath(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" for refused
	}{
		{"/", "/"},
		{"/orders", "/orders"},
		{"/orders/", "/orders/"},
		{"/orders?x=1/../y", "/orders"},
		{"//orders", "/orders"},
		{"/orders//42///", "/orders/42/"},
		{"///", "/"},
		{"/%6Frders", "/orders"},
		{"/a%20b", "/a b"},
		{"/caf%C3%A9", "/café"},
		{"/a.b/..c/...", "/a.b/..c/..."},
		{"/a:b@c!$&'()*+,=~_-", "/a:b@c!$&'()*+,=~_-"},
		{"/q%3Fx", "/q?x"},
		{"/semi%3Bcolon", "/semi;colon"},
		{"http://host.example/orders?x", "/orders"},
		{"http://host.example", "/"},
		{"http://host.example?x", "/"},
		// Refused.
		{"/..", ""},
		{"/.", ""},
		{"/a/./b", ""},
		{"/a/../b", ""},
		{"/%2e%2e/b", ""},
		{"/%2E./b", ""},
		{"/.%2e", ""},
		{"/a%2Fb", ""},
		{"/a%2fb", ""},
		{"/a%5Cb", ""},
		{"/a%5cb", ""},
		{"/a\\b", ""},
		{"/%252e%252e/", ""},
		{"/a%25", ""},
		{"/a;b", ""},
		{"/a%00", ""},
		{"/a%0d%0a", ""},
		{"/a%7f", ""},
		{"/a%", ""},
		{"/a%2", ""},
		{"/a%zz", ""},
		{"/%c0%ae", ""},
		{"/%ff", ""},
		{"/caf\xc3\xa9", ""},
		{"/a b", ""},
		{"/a\"b", ""},
		{"/a<b>", ""},
		{"/a#frag", ""},
		{"*", ""},
		{"orders", ""},
		{"", ""},
		{"http://host.example/a/../b", ""},
	} {
		got, err := normalizePath(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("normalizePath(%q) = %q, want refused", tc.in, got)
		case tc.want == "":
			if !errors.Is(err, errBadPath) {
				t.Errorf("normalizePath(%q): error %v does not match errBadPath", tc.in, err)
			}
		case err != nil:
			t.Errorf("normalizePath(%q): %v, want %q", tc.in, err, tc.want)
		case got != tc.want:
			t.Errorf("normalizePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzNormalizePath checks the properties the proxy relies on: an accepted
// path is canonical - absolute, clean (no dot segments, no empty segments),
// and normalized again to itself once escaped for the upstream.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "/orders//42/", "/%2e%2e/", "/a%2Fb", "/caf%C3%A9?x", "http://h/a", "/a;b", "/%252e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := normalizePath(in)
		if err != nil {
			if !errors.Is(err, errBadPath) {
				t.Fatalf("error %v does not match errBadPath", err)
			}
			return
		}
		if !strings.HasPrefix(got, "/") {
			t.Fatalf("%q -> %q: not absolute", in, got)
		}
		trimmed := strings.TrimSuffix(got, "/")
		if trimmed == "" {
			trimmed = "/"
		}
		if path.Clean(got) != trimmed {
			t.Fatalf("%q -> %q: not clean (path.Clean %q)", in, got, path.Clean(got))
		}
		for _, seg := range strings.Split(got, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("%q -> %q: dot segment", in, got)
			}
		}
		if strings.ContainsAny(got, "\\%\x00") {
			t.Fatalf("%q -> %q: backslash, percent or NUL", in, got)
		}
		again, err := normalizePath(escapePath(got))
		if err != nil || again != got {
			t.Fatalf("%q -> %q, escaped %q -> %q, %v: not stable", in, got, escapePath(got), again, err)
		}
		// The upstream decodes the escaped path to the same path.
		u, err := url.ParseRequestURI(escapePath(got))
		if err != nil || u.Path != got {
			t.Fatalf("%q -> %q: upstream reads %q (%v)", in, got, u.Path, err)
		}
	})
}

func TestRuleSet(t *testing.T) {
	rs, err := newRuleSet([]ruleConfig{
		{Match: "GET /orders", Scopes: []string{"r"}},
		{Match: "GET /orders/{id}", Scopes: []string{"r"}},
		{Match: "POST /orders", Scopes: []string{"w"}},
		{Match: "/files/"},
		{Match: "/files/private/", Deny: true},
		{Match: "/files/{$}", Anonymous: true},
	}, pathsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		want         int // index of the rule, -1 for none
	}{
		{"GET", "/orders", 0},
		{"HEAD", "/orders", 0},
		{"POST", "/orders", 2},
		{"PUT", "/orders", -1},
		{"GET", "/orders/", -1},
		{"GET", "/orders/7", 1},
		{"GET", "/orders/7/items", -1},
		{"GET", "/files", -1},
		{"GET", "/files/", 5},
		{"DELETE", "/files/a/b", 3},
		{"GET", "/files/private/x", 4},
		{"GET", "/", -1},
	} {
		r, _ := rs.match(tc.method, tc.path)
		got := -1
		if r != nil {
			got = r.index
		}
		if got != tc.want {
			t.Errorf("%s %s: rule %d, want %d", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestRuleSetErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []ruleConfig
		want  string
	}{
		{"conflict", []ruleConfig{{Match: "GET /a/{x}"}, {Match: "GET /{y}/b"}}, "rules[1].match"},
		{"duplicate", []ruleConfig{{Match: "/a"}, {Match: "/a"}}, "rules[1].match"},
		{"duplicate once case is ignored", []ruleConfig{{Match: "GET /Orders"}, {Match: "GET /orders"}},
			"rules[1].match: once letter case is ignored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newRuleSet(tc.rules, pathsConfig{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
	// Twins: distinct patterns compile; patterns that differ by case do
	// when paths are case-sensitive.
	if _, err := newRuleSet([]ruleConfig{{Match: "GET /a/{x}"}, {Match: "GET /a/b"}}, pathsConfig{}); err != nil {
		t.Errorf("compatible patterns: %v", err)
	}
	if _, err := newRuleSet([]ruleConfig{{Match: "GET /Orders"}, {Match: "GET /orders"}}, pathsConfig{CaseSensitive: true}); err != nil {
		t.Errorf("case-sensitive paths: %v", err)
	}
}

func TestCheckPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		ok      bool
	}{
		{"/orders", true},
		{"GET /orders/{id}", true},
		{"POST /files/{path...}", true},
		{"/a/{$}", true},
		{"example.com/orders", false},
		{"GET example.com/orders", false},
		{"orders", false},
		{"GET /a/{x", false},
		{"GET /a/{x}/{x}", false},
	} {
		if err := checkPattern(tc.pattern); (err == nil) != tc.ok {
			t.Errorf("checkPattern(%q) = %v, want ok %v", tc.pattern, err, tc.ok)
		}
	}
}

func TestSameHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		same bool
	}{
		{"X-Auth-Subject", true},
		{"x-auth-subject", true},
		{"X_Auth_Subject", true},
		{"X_AUTH-SUBJECT", true},
		{"X-Auth-Subjects", false},
		{"X-Auth-Subjec", false},
		{"X.Auth.Subject", false},
	} {
		if got := sameHeader(tc.name, headerKey("X-Auth-Subject")); got != tc.same {
			t.Errorf("sameHeader(%q) = %v, want %v", tc.name, got, tc.same)
		}
	}
}

// variantRules are the rules of the path-variant tests: a catch-all next to
// stricter rules, as in the review's reproduction, and two rules that only
// a trailing slash tells apart.
var variantRules = []ruleConfig{
	{Match: "/"}, // 0: any valid token
	{Match: "/admin/", Scopes: []string{"admin"}},                               // 1
	{Match: "DELETE /orders/{id}", AnyScope: []string{"orders:admin", "admin"}}, // 2
	{Match: "GET /orders/{id}", Scopes: []string{"orders:read"}},                // 3
	{Match: "/Reports/", Scopes: []string{"reports"}},                           // 4: written with a capital
	{Match: "/public/", Anonymous: true},                                        // 5
	{Match: "/public/secret/", Deny: true},                                      // 6
	{Match: "GET /a/{x}", Scopes: []string{"a"}},                                // 7
	{Match: "GET /a/{x}/", Scopes: []string{"b"}},                               // 8: incomparable with 7
	{Match: "/keys/", Scopes: []string{"keys"}},                                 // 9
	{Match: "/admin/public/", Anonymous: true},                                  // 10
}

// TestRuleSetVariants: a request whose path differs from a rule's only by
// letter case or a trailing slash is judged by a rule at least as strict as
// that rule, or refused when no configured rule is; the paths options opt
// out, one dimension each.
func TestRuleSetVariants(t *testing.T) {
	const ambiguous = -2
	type want struct{ lenient, caseSensitive, strictSlash, both int }
	for _, tc := range []struct {
		method, path string
		want         want // rule index; -1 none; ambiguous
	}{
		// The review's reproduction, and its twins (the path as written).
		{"GET", "/ADMIN/users", want{1, 0, 1, 0}},
		{"GET", "/admin/users", want{1, 1, 1, 1}},
		{"DELETE", "/orders/5/", want{2, 2, 0, 0}},
		{"DELETE", "/orders/5", want{2, 2, 2, 2}},
		{"DELETE", "/ORDERS/5/", want{2, 0, 0, 0}},
		{"GET", "/orders/5/", want{3, 3, 0, 0}},
		{"GET", "/Orders/5", want{3, 0, 3, 0}},
		// A pattern written with capitals is folded too.
		{"GET", "/reports/q1", want{4, 0, 4, 0}},
		{"GET", "/REPORTS/q1", want{4, 0, 4, 0}},
		{"GET", "/Reports/q1", want{4, 4, 4, 4}},
		// An anonymous subtree does not hide a deny rule.
		{"GET", "/public/SECRET/x", want{6, 5, 6, 5}},
		{"GET", "/public/secret/x", want{6, 6, 6, 6}},
		{"GET", "/public/x", want{5, 5, 5, 5}},
		// The Kelvin sign is a K to Java's equalsIgnoreCase, not to an
		// ASCII-only router: the two foldings disagree, refused.
		{"GET", "/\u212Aeys/x", want{ambiguous, 0, ambiguous, 0}},
		{"GET", "/KEYS/x", want{9, 0, 9, 0}},
		// The same disagreement where it matters: to an ASCII-only router
		// "/ADMIN/publıc/x" (dotless i) is under /admin/ [admin], to .NET
		// under the anonymous /admin/public/; no applied rule is safe for
		// both and the routers between them.
		{"GET", "/ADMIN/publ\u0131c/x", want{ambiguous, 0, ambiguous, 0}},
		{"GET", "/admin/public/x", want{10, 10, 10, 10}},
		{"GET", "/ADMIN/PUBLIC/x", want{0, 0, 0, 0}}, // "/" needs a token
		// Rules that disagree on the variants, none stricter.
		{"GET", "/a/1", want{ambiguous, ambiguous, 7, 7}},
		{"GET", "/a/1/", want{ambiguous, ambiguous, 8, 8}},
		{"GET", "/A/1", want{ambiguous, 0, 7, 0}},
		// No variant: as before.
		{"GET", "/", want{0, 0, 0, 0}},
		{"GET", "/elsewhere", want{0, 0, 0, 0}},
		// No rule for the path as sent: refused, whatever the variants.
		{"GET", "/admin", want{-1, -1, -1, -1}},
	} {
		for _, mode := range []struct {
			name string
			pc   pathsConfig
			want int
		}{
			{"lenient", pathsConfig{}, tc.want.lenient},
			{"case_sensitive", pathsConfig{CaseSensitive: true}, tc.want.caseSensitive},
			{"trailing_slash strict", pathsConfig{TrailingSlash: slashStrict}, tc.want.strictSlash},
			{"both", pathsConfig{CaseSensitive: true, TrailingSlash: slashStrict}, tc.want.both},
		} {
			rs, err := newRuleSet(variantRules, mode.pc)
			if err != nil {
				t.Fatal(err)
			}
			r, conflict := rs.match(tc.method, tc.path)
			got := -1
			switch {
			case conflict != nil:
				got = ambiguous
				if r != nil || len(conflict) < 2 {
					t.Errorf("%s: %s %s: rule %v and conflict %d rules", mode.name, tc.method, tc.path, r, len(conflict))
				}
			case r != nil:
				got = r.index
			}
			if got != mode.want {
				t.Errorf("%s: %s %q: rule %d, want %d", mode.name, tc.method, tc.path, got, mode.want)
			}
		}
	}
}

func TestRuleImplies(t *testing.T) {
	r := func(scopes, any []string) *rule { return &rule{scopes: scopes, anyScope: any} }
	deny, anon, token := &rule{deny: true}, &rule{anonymous: true}, r(nil, nil)
	ab, a := r([]string{"a", "b"}, nil), r([]string{"a"}, nil)
	anyAB, anyA, anyAC := r(nil, []string{"a", "b"}), r(nil, []string{"a"}), r(nil, []string{"a", "c"})
	for _, tc := range []struct {
		name string
		r, o *rule
		want bool
	}{
		{"deny implies all", deny, ab, true},
		{"nothing but deny implies deny", ab, deny, false},
		{"all imply anonymous", token, anon, true},
		{"anonymous implies anonymous", anon, anon, true},
		{"anonymous does not imply a token", anon, token, false},
		{"scopes imply a token", a, token, true},
		{"superset of scopes", ab, a, true},
		{"subset of scopes", a, ab, false},
		{"a scope in the any list", a, anyAB, true},
		{"narrower any list", anyA, anyAB, true},
		{"wider any list", anyAB, anyA, false},
		{"other any list", anyAC, anyAB, false},
		{"token alone does not imply an any list", token, anyAB, false},
	} {
		if got := tc.r.implies(tc.o); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFoldPath(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"/admin", "/ADMIN"},
		{"/Admin/Users", "/aDMIN/uSERS"},
		{"/keys", "/\u212Aeys"},      // Kelvin sign
		{"/admin", "/adm\u0131n"},    // dotless i
		{"/admin", "/ADM\u0130N"},    // dotted capital I
		{"/secret", "/\u017Fecret"},  // long s
		{"/caf\u00e9", "/CAF\u00c9"}, // é
	} {
		if fa, fb := foldPath(tc.a), foldPath(tc.b); fa != fb {
			t.Errorf("foldPath(%q) = %q, foldPath(%q) = %q: want equal", tc.a, fa, tc.b, fb)
		}
	}
	// Twins: different paths stay different; an already folded path is
	// returned as is.
	if foldPath("/admin") == foldPath("/admins") || foldPath("/a-b") == foldPath("/a_b") {
		t.Error("foldPath equates different paths")
	}
	if got := foldPath("/orders/42/"); got != "/orders/42/" {
		t.Errorf("foldPath changed a folded path: %q", got)
	}
	for _, tc := range []struct{ in, want string }{
		{"GET /Orders/{ID}/Items/{Rest...}", "GET /orders/{ID}/items/{Rest...}"},
		{"/orders/{id}/{$}", "/orders/{id}/{$}"},
		// ServeMux unescapes pattern segments: an escaped capital is a
		// capital, and escapes that folding leaves alone stay as written.
		{"/%41dmin/", "/admin/"},
		{"/a%2Cb/%7Bx%7D/", "/a%2Cb/%7Bx%7D/"},
		{"/CAF%C3%89/", "/caf%C3%A9/"},
	} {
		if got := foldPattern(tc.in, foldPath); got != tc.want {
			t.Errorf("foldPattern(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRuleSetEscapedPattern: a pattern that spells a letter escaped
// ("/%41dmin/" is "/Admin/" to ServeMux) is folded as that letter.
func TestRuleSetEscapedPattern(t *testing.T) {
	rs, err := newRuleSet([]ruleConfig{{Match: "/"}, {Match: "/%41dmin/", Scopes: []string{"admin"}}}, pathsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/admin/x", "/ADMIN/x", "/Admin/x"} {
		if r, _ := rs.match("GET", p); r == nil || r.index != 1 {
			t.Errorf("GET %s: rule %v, want rules[1]", p, r)
		}
	}
	// Twin: another path stays under the catch-all.
	if r, _ := rs.match("GET", "/other"); r == nil || r.index != 0 {
		t.Errorf("GET /other: rule %v, want rules[0]", r)
	}
}

// TestFoldRuneCoversCaseMappings: foldRune equates every rune with its
// upper, lower and title case and its simple-folding orbit, so that
// foldPath is at least as coarse as every common case-insensitive
// comparison.
func TestFoldRuneCoversCaseMappings(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		f := foldRune(r)
		for _, m := range []rune{unicode.ToUpper(r), unicode.ToLower(r), unicode.ToTitle(r), unicode.SimpleFold(r)} {
			if foldRune(m) != f {
				t.Fatalf("foldRune(%U) = %U, but foldRune(%U) = %U", r, f, m, foldRune(m))
			}
		}
	}
	// Twin: different letters stay apart.
	if foldRune('a') == foldRune('b') || foldRune('i') == foldRune('j') {
		t.Error("foldRune equates different letters")
	}
}

func TestRuleSetWarnings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []ruleConfig
		pc    pathsConfig
		want  []string // substrings, one warning each; none for nil
	}{
		{"catch-all, lenient: the variants are covered", variantRules[:4], pathsConfig{}, nil},
		{"catch-all, case-sensitive", variantRules[:4], pathsConfig{CaseSensitive: true},
			[]string{`GET /ADMIN/ is judged by rules[0] "/", which requires less than rules[1] "/admin/"`}},
		{"catch-all, strict slash", variantRules[:4], pathsConfig{TrailingSlash: slashStrict},
			[]string{`DELETE /orders/{}/ is judged by rules[0] "/", which requires less than rules[2] "DELETE /orders/{id}"`}},
		{"incomparable slash twins", variantRules[7:9], pathsConfig{},
			[]string{`GET /a/{}/ is refused: its letter-case and trailing-slash variants select rules[1] "GET /a/{x}/", rules[0] "GET /a/{x}"`}},
		{"incomparable slash twins, strict", variantRules[7:9], pathsConfig{TrailingSlash: slashStrict}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := newRuleSet(tc.rules, tc.pc)
			if err != nil {
				t.Fatal(err)
			}
			got := rs.warnings()
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					found = found || strings.Contains(g, w)
				}
				if !found {
					t.Errorf("no warning contains %q; got:\n%s", w, strings.Join(got, "\n"))
				}
			}
			if tc.want == nil && len(got) > 0 {
				t.Errorf("unexpected warnings:\n%s", strings.Join(got, "\n"))
			}
		})
	}
}

// FuzzRuleSetVariants checks the promise of ruleSet.match on any path,
// against oracles independent of foldPath and the folded patterns: with
// patterns in lower-case ASCII, an upstream that ignores case the way g does
// routes a path p to the rule of g(p), with or without its trailing slash.
// The rule match applies must be at least as strict as each of those, or
// the request refused.
func FuzzRuleSetVariants(f *testing.F) {
	for _, s := range []string{"/ADMIN/users", "/orders/5/", "/PUBLIC/secret/x", "/public/SECRET/x", "/a/1",
		"/%E2%84%AAeys/x", "/ADMIN/publ%C4%B1c/x", "/adm%C4%B0n/x", "/"} { // Kelvin sign, dotless i, dotted I
		f.Add("GET", s)
		f.Add("DELETE", s)
	}
	var lower []ruleConfig
	for _, rc := range variantRules {
		if _, p := splitPattern(rc.Match); p == strings.ToLower(p) {
			lower = append(lower, rc)
		}
	}
	rs, err := newRuleSet(lower, pathsConfig{})
	if err != nil {
		f.Fatal(err)
	}
	oracles := []func(string) string{
		func(p string) string { return p },
		asciiLower,
		strings.ToLower,
		func(p string) string { return strings.ToLower(strings.ToUpper(p)) },
	}
	f.Fuzz(func(t *testing.T, method, in string) {
		if !validMethod(method) {
			return
		}
		p, err := normalizePath(in)
		if err != nil {
			return
		}
		r, conflict := rs.match(method, p)
		if r == nil {
			return // refused
		}
		if conflict != nil {
			t.Fatalf("%s %q: both a rule and a conflict", method, p)
		}
		forms := []string{p}
		if tp, ok := toggleSlash(p); ok {
			forms = append(forms, tp)
		}
		req := http.Request{Method: method, URL: &url.URL{}}
		for _, form := range forms {
			for _, g := range oracles {
				v := g(form)
				if o := lookup(rs.mux, &req, v); o != nil && !r.implies(o) {
					t.Fatalf("%s %q: rules[%d] applies, weaker than rules[%d] of %q", method, p, r.index, o.index, v)
				}
			}
		}
	})
}
