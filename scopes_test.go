package tollgate_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate"
)

func TestParseScopes(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"read", []string{"read"}},
		{"read write", []string{"read", "write"}},
		{"  read   write  ", []string{"read", "write"}},
		{"read write read", []string{"read", "write"}},
		{"orders:write https://api.example/x", []string{"orders:write", "https://api.example/x"}},
	}
	for _, tt := range tests {
		got := tollgate.ParseScopes(tt.in)
		if !slices.Equal(got.Strings(), tt.want) && !(len(tt.want) == 0 && got.Len() == 0) {
			t.Errorf("ParseScopes(%q) = %q, want %q", tt.in, got.Strings(), tt.want)
		}
		if got.Len() != len(tt.want) {
			t.Errorf("ParseScopes(%q).Len() = %d", tt.in, got.Len())
		}
	}
}

func TestParseScopesLargeInputStaysLinearAndDeduplicated(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		b.WriteString("s")
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(" ")
	}
	s := tollgate.ParseScopes(b.String())
	if s.Len() != 26 {
		t.Fatalf("Len = %d, want 26 distinct scopes", s.Len())
	}
	if first := s.Strings()[0]; first != "sa" {
		t.Fatalf("order not kept: first is %q", first)
	}
}

func TestScopesQueries(t *testing.T) {
	s := tollgate.NewScopes("read", "write", "", "read")
	if s.Len() != 2 || s.String() != "read write" {
		t.Fatalf("NewScopes = %q (len %d)", s.String(), s.Len())
	}
	checks := []struct {
		name string
		got  bool
		want bool
	}{
		{"Has read", s.Has("read"), true},
		{"Has admin", s.Has("admin"), false},
		{"Has prefix of a scope", s.Has("rea"), false},
		{"HasAll read write", s.HasAll("read", "write"), true},
		{"HasAll read admin", s.HasAll("read", "admin"), false},
		{"HasAll none", s.HasAll(), true},
		{"HasAny admin write", s.HasAny("admin", "write"), true},
		{"HasAny admin", s.HasAny("admin"), false},
		{"HasAny none", s.HasAny(), false},
		{"zero value Has", tollgate.Scopes{}.Has("read"), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	var seen []string
	for name := range s.All() {
		seen = append(seen, name)
	}
	if !slices.Equal(seen, []string{"read", "write"}) {
		t.Fatalf("All yielded %q", seen)
	}
}

func TestScopesAreReadOnly(t *testing.T) {
	in := []string{"read", "write"}
	s := tollgate.NewScopes(in...)
	in[0] = "admin"
	out := s.Strings()
	out[1] = "admin"
	if s.Has("admin") || !s.HasAll("read", "write") {
		t.Fatalf("Scopes changed through a slice: %q", s.Strings())
	}
}
