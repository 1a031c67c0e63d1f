package main

import (
	"errors"
	"net/url"
	"path"
	"strings"
	"testing"
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
	})
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
		r := rs.match(tc.method, tc.path)
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newRuleSet(tc.rules)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
	// Twin: distinct patterns compile.
	if _, err := newRuleSet([]ruleConfig{{Match: "GET /a/{x}"}, {Match: "GET /a/b"}}); err != nil {
		t.Errorf("compatible patterns: %v", err)
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
