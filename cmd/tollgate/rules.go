package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// errBadPath is the error of normalizePath: the path is refused, whatever the
// rules say.
var errBadPath = errors.New("path refused")

// normalizePath turns the path of a raw request target (origin form, as
// sent: "/a//b%20c?x=1", or absolute form) into the path the rules are
// matched against, decoded and canonical: "/a/b c". It refuses, rather than
// repairs, everything that two HTTP stacks could read differently, so that
// the path tollgate authorizes is the one the upstream serves:
//
//   - dot segments ("." and "..", also percent-encoded), which a server or a
//     framework may resolve after tollgate matched;
//   - encoded slashes and backslashes (%2F, %5C) and raw backslashes, which
//     some servers decode into separators;
//   - encoded percent signs (%25), the tool of double-decoding attacks;
//   - ';' outside percent-encoding, which servlet containers treat as the
//     start of path parameters ("/admin;x=1" served as "/admin");
//   - control characters, raw non-ASCII bytes, invalid percent-encoding and
//     percent-encoded bytes that are not UTF-8 (overlong forms of '.' or '/').
//
// Runs of slashes are merged ("//admin" is "/admin"); a trailing slash is
// kept.
func normalizePath(target string) (string, error) {
	p := target
	if !strings.HasPrefix(p, "/") {
		// Absolute form: scheme://authority/path.
		i := strings.Index(p, "://")
		if i <= 0 {
			return "", fmt.Errorf("%w: not an origin-form or absolute-form target", errBadPath)
		}
		p = p[i+3:]
		j := strings.IndexAny(p, "/?#")
		if j < 0 || p[j] != '/' {
			return "/", nil
		}
		p = p[j:]
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	var b strings.Builder
	b.Grow(len(p))
	trailing := len(p) > 1 && p[len(p)-1] == '/'
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" {
			continue // merged slashes, and the leading one
		}
		dec, err := decodeSegment(seg)
		if err != nil {
			return "", err
		}
		b.WriteByte('/')
		b.WriteString(dec)
	}
	if b.Len() == 0 || trailing {
		b.WriteByte('/')
	}
	return b.String(), nil
}

// decodeSegment percent-decodes one path segment and refuses what
// normalizePath refuses.
func decodeSegment(seg string) (string, error) {
	var out []byte
	if strings.IndexByte(seg, '%') >= 0 {
		out = make([]byte, 0, len(seg))
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c == '%':
			if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
				return "", fmt.Errorf("%w: invalid percent-encoding", errBadPath)
			}
			d := unhex(seg[i+1])<<4 | unhex(seg[i+2])
			switch {
			case d == '/' || d == '\\':
				return "", fmt.Errorf("%w: encoded slash or backslash", errBadPath)
			case d == '%':
				return "", fmt.Errorf("%w: encoded percent sign", errBadPath)
			case d < 0x20 || d == 0x7f:
				return "", fmt.Errorf("%w: encoded control character", errBadPath)
			}
			out = append(out, d)
			i += 2
		case c == ';':
			return "", fmt.Errorf("%w: ';' (path parameters)", errBadPath)
		case !isPathChar(c):
			return "", fmt.Errorf("%w: character not allowed in a path", errBadPath)
		default:
			if out != nil {
				out = append(out, c)
			}
		}
	}
	dec := seg
	if out != nil {
		if !utf8.Valid(out) {
			return "", fmt.Errorf("%w: encoded bytes are not UTF-8", errBadPath)
		}
		dec = string(out)
	}
	if dec == "." || dec == ".." {
		return "", fmt.Errorf("%w: dot segment", errBadPath)
	}
	return dec, nil
}

// isPathChar reports whether c may appear unencoded in a path segment (RFC
// 3986 pchar without pct-encoded; ';' is handled by the caller).
func isPathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// escapePath returns the canonical escaped form of a normalized path, the
// form the proxy forwards.
func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}

// rule is a compiled access rule.
type rule struct {
	index     int // in config.Rules
	pattern   string
	scopes    []string // all required
	anyScope  []string // at least one required
	anonymous bool     // no token needed; a token, if sent, is validated
	deny      bool
	handler   http.Handler // set by the server that uses the rules
}

// ServeHTTP makes a *rule a marker handler for the ServeMux that matches
// rules: it is never called to serve.
func (*rule) ServeHTTP(http.ResponseWriter, *http.Request) {}

// ruleSet matches a request's method and normalized path to a rule with
// net/http.ServeMux's patterns and precedence (the most specific pattern
// wins; "GET" also matches HEAD; "{name}" and "{name...}" wildcards; a
// pattern ending in "/" matches the subtree).
type ruleSet struct {
	mux   *http.ServeMux
	rules []*rule
}

// checkPattern reports whether s is a ServeMux pattern tollgate accepts:
// an optional method, then a path; no host.
func checkPattern(s string) (err error) {
	_, path, _ := strings.Cut(s, " ")
	if !strings.Contains(s, " ") {
		path = s
	}
	path = strings.TrimLeft(path, " \t")
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("%q: the path must start with / (host patterns are not supported)", s)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%q: %v", s, r)
		}
	}()
	http.NewServeMux().Handle(s, http.NotFoundHandler())
	return nil
}

// newRuleSet compiles the rules of a validated configuration. Two rules
// whose patterns conflict (neither more specific than the other) are an
// error, as ServeMux has them.
func newRuleSet(rcs []ruleConfig) (rs *ruleSet, err error) {
	rs = &ruleSet{mux: http.NewServeMux()}
	for i, rc := range rcs {
		r := &rule{
			index:     i,
			pattern:   rc.Match,
			scopes:    rc.Scopes,
			anyScope:  rc.AnyScope,
			anonymous: rc.Anonymous,
			deny:      rc.Deny,
		}
		if err := register(rs.mux, r); err != nil {
			return nil, fmt.Errorf("rules[%d].match: %w", i, err)
		}
		rs.rules = append(rs.rules, r)
	}
	return rs, nil
}

func register(mux *http.ServeMux, r *rule) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	mux.Handle(r.pattern, r)
	return nil
}

// match returns the rule for method and a normalized path, or nil when none
// matches (the request is then refused).
func (rs *ruleSet) match(method, path string) *rule {
	req := http.Request{Method: method, URL: &url.URL{Path: path}}
	h, _ := rs.mux.Handler(&req)
	r, _ := h.(*rule)
	return r
}

// validMethod reports whether m is an HTTP method token.
func validMethod(m string) bool {
	return validHeaderName(m)
}
