package tollgate

import (
	"iter"
	"slices"
	"strings"
)

// Scopes is a read-only set of OAuth 2.0 scope names, in the order they were
// first given, without duplicates. The zero value is the empty set. A Scopes
// value cannot be changed after it is made, so it is safe to share.
type Scopes struct {
	names []string
}

// ParseScopes reads a space-delimited scope string (RFC 6749 section 3.3, the
// "scope" claim and introspection member). Runs of spaces are tolerated and
// duplicates are dropped.
func ParseScopes(s string) Scopes {
	if s == "" {
		return Scopes{}
	}
	names := make([]string, 0, strings.Count(s, " ")+1)
	for name := range strings.SplitSeq(s, " ") {
		if name != "" {
			names = append(names, name)
		}
	}
	return Scopes{names: dedup(names)}
}

// dedup removes repeated names in place, keeping first occurrences. Small sets
// (the usual case) are scanned; large ones, which only a hostile or broken
// authorization server sends, use a map so the cost stays linear.
func dedup(names []string) []string {
	if len(names) > 32 {
		seen := make(map[string]struct{}, len(names))
		return slices.DeleteFunc(names, func(n string) bool {
			if _, dup := seen[n]; dup {
				return true
			}
			seen[n] = struct{}{}
			return false
		})
	}
	out := names[:0]
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// NewScopes returns the set of the given names. Empty names and duplicates are
// dropped; the argument slice is copied.
func NewScopes(names ...string) Scopes {
	out := make([]string, 0, len(names))
	for _, name := range names {
		if name != "" {
			out = append(out, name)
		}
	}
	return Scopes{names: dedup(out)}
}

// Has reports whether the set contains name.
func (s Scopes) Has(name string) bool { return slices.Contains(s.names, name) }

// HasAll reports whether the set contains every one of names. It is true for
// no names.
func (s Scopes) HasAll(names ...string) bool {
	for _, n := range names {
		if !s.Has(n) {
			return false
		}
	}
	return true
}

// HasAny reports whether the set contains at least one of names. It is false
// for no names.
func (s Scopes) HasAny(names ...string) bool {
	for _, n := range names {
		if s.Has(n) {
			return true
		}
	}
	return false
}

// Len returns the number of scopes in the set.
func (s Scopes) Len() int { return len(s.names) }

// All returns an iterator over the scope names, in order.
func (s Scopes) All() iter.Seq[string] { return slices.Values(s.names) }

// Strings returns the scope names as a new slice the caller may modify.
func (s Scopes) Strings() []string { return slices.Clone(s.names) }

// String returns the names joined by single spaces, the form of the "scope"
// claim.
func (s Scopes) String() string { return strings.Join(s.names, " ") }
