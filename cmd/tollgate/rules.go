package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
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

// implies reports whether every request r lets through, o lets through too:
// r is at least as strict as o. It is sound, not complete: false may also
// mean "cannot tell", which makes the caller refuse.
func (r *rule) implies(o *rule) bool {
	switch {
	case r.deny:
		return true
	case o.deny:
		return false
	case o.anonymous:
		return true // r needs a valid token if one is sent, or always
	case r.anonymous:
		return false
	}
	for _, s := range o.scopes {
		if !slices.Contains(r.scopes, s) {
			return false
		}
	}
	if len(o.anyScope) == 0 {
		return true
	}
	for _, s := range r.scopes {
		if slices.Contains(o.anyScope, s) {
			return true
		}
	}
	if len(r.anyScope) == 0 {
		return false
	}
	for _, s := range r.anyScope {
		if !slices.Contains(o.anyScope, s) {
			return false
		}
	}
	return true
}

// ruleSet matches a request's method and normalized path to a rule with
// net/http.ServeMux's patterns and precedence (the most specific pattern
// wins; "GET" also matches HEAD; "{name}" and "{name...}" wildcards; a
// pattern ending in "/" matches the subtree).
//
// Many upstreams route a path whatever its letter case (ASP.NET Core,
// Express by default, IIS) or with and without a trailing slash (Express,
// ASP.NET Core, Spring before 6): "/ADMIN/users" or "/orders/5/" reach the
// handler of "/admin/users" or "/orders/5". Unless the configuration says
// the upstream tells them apart (paths.case_sensitive,
// paths.trailing_slash: strict), the rule set also looks up those variants
// of the path - case-folded, against case-folded patterns, and with the
// trailing slash toggled - and when they land on different rules, applies
// the one at least as strict as all the others, or refuses the request when
// no rule is (see [ruleSet.match]).
type ruleSet struct {
	mux *http.ServeMux
	// folded holds the patterns under foldPath, ascii under asciiLower (the
	// same mux when every pattern is ASCII); both nil when paths are
	// case-sensitive.
	folded, ascii *http.ServeMux
	// foldedSame: folding changed no pattern, so folded answers as mux
	// does for a path that folding leaves alone (the common case: lookups
	// saved).
	foldedSame  bool
	strictSlash bool
	rules       []*rule
}

// Path routing modes of the upstream (paths.trailing_slash).
const (
	slashOptional = "optional"
	slashStrict   = "strict"
)

// checkPattern reports whether s is a ServeMux pattern tollgate accepts:
// an optional method, then a path; no host.
func checkPattern(s string) (err error) {
	_, path := splitPattern(s)
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

// splitPattern returns the method (maybe "") and the path of a pattern.
func splitPattern(s string) (method, path string) {
	method, path, found := strings.Cut(s, " ")
	if !found {
		return "", s
	}
	return method, strings.TrimLeft(path, " \t")
}

// newRuleSet compiles the rules of a validated configuration. Two rules
// whose patterns conflict (neither more specific than the other) are an
// error, as ServeMux has them; unless paths are case-sensitive, so are two
// rules that conflict once letter case is ignored.
func newRuleSet(rcs []ruleConfig, pc pathsConfig) (rs *ruleSet, err error) {
	rs = &ruleSet{mux: http.NewServeMux(), strictSlash: pc.TrailingSlash == slashStrict}
	allASCII := true
	if !pc.CaseSensitive {
		rs.folded, rs.foldedSame = http.NewServeMux(), true
		for _, rc := range rcs {
			allASCII = allASCII && isASCII(rc.Match)
		}
		rs.ascii = rs.folded
		if !allASCII {
			rs.ascii = http.NewServeMux()
		}
	}
	for i, rc := range rcs {
		r := &rule{
			index:     i,
			pattern:   rc.Match,
			scopes:    rc.Scopes,
			anyScope:  rc.AnyScope,
			anonymous: rc.Anonymous,
			deny:      rc.Deny,
		}
		if err := register(rs.mux, r.pattern, r); err != nil {
			return nil, fmt.Errorf("rules[%d].match: %w", i, err)
		}
		if rs.folded != nil {
			fp := foldPattern(r.pattern, foldPath)
			rs.foldedSame = rs.foldedSame && fp == r.pattern
			err := register(rs.folded, fp, r)
			if err == nil && rs.ascii != rs.folded {
				err = register(rs.ascii, foldPattern(r.pattern, asciiLower), r)
			}
			if err != nil {
				return nil, fmt.Errorf("rules[%d].match: once letter case is ignored: %w "+
					"(set paths.case_sensitive: true if the upstream routes paths case-sensitively)", i, err)
			}
		}
		rs.rules = append(rs.rules, r)
	}
	// A miss would make ServeMux look for the methods the path allows (to
	// answer 405), which allocates: "/" answers "no rule" instead. It is
	// the least specific pattern, so it neither wins over nor conflicts
	// with any rule; a rule "/" of its own makes it redundant.
	for _, mux := range []*http.ServeMux{rs.mux, rs.folded, rs.ascii} {
		if mux != nil {
			_ = register(mux, "/", http.NotFoundHandler())
		}
	}
	return rs, nil
}

func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// match returns the rule that applies to method and a normalized path. It
// returns nil when no rule matches the path as sent (the request is then
// refused), and nil with the rules that disagree when the variants of the
// path land on rules none of which is at least as strict as all the others
// (refused too).
//
// The variants: the path with its trailing slash toggled, and both forms
// case-folded two ways, ASCII letters only (Express, most routers that
// ignore case) and every Unicode case mapping (foldPath: ASP.NET's
// OrdinalIgnoreCase, Java's equalsIgnoreCase). An upstream whose folding
// lies between those two can pick any rule between theirs in ServeMux's
// order of precedence, which tollgate cannot enumerate: when the two
// foldings select different rules, the request is refused. That only
// happens for paths with non-ASCII letters whose case the rules tell apart.
//
// Why the strictest rule rather than always refusing when variants differ:
// with a catch-all rule ("/", any valid token) next to "/admin/" [admin],
// "/ADMIN/users" must be judged as "/admin/users" would be - which is what
// applying the stricter rule does - and a client that adds a trailing slash
// the upstream ignores still gets an answer that a configured rule
// explains. The rule applied is always a configured one (its scopes in the
// challenge, its index in the logs), never a synthesized union; when no
// configured rule covers every variant, the request is refused rather than
// judged by a combination nobody wrote.
func (rs *ruleSet) match(method, path string) (*rule, []*rule) {
	req := http.Request{Method: method, URL: &url.URL{}}
	exact := lookup(rs.mux, &req, path)
	if exact == nil {
		return nil, nil
	}
	cands := [6]*rule{exact}
	n := 1
	add := func(r *rule) {
		if r != nil && !slices.Contains(cands[:n], r) {
			cands[n] = r
			n++
		}
	}
	forms := [2]string{path}
	nf := 1
	if !rs.strictSlash {
		if t, ok := toggleSlash(path); ok {
			forms[1], nf = t, 2
		}
	}
	for i, f := range forms[:nf] {
		if i > 0 {
			add(lookup(rs.mux, &req, f))
		}
		if rs.folded == nil {
			continue
		}
		ff := foldPath(f)
		if ff == f && rs.foldedSame {
			continue // folded would answer as mux did
		}
		r := lookup(rs.folded, &req, ff)
		if af := asciiLower(f); af != ff || rs.ascii != rs.folded {
			if ra := lookup(rs.ascii, &req, af); ra != r {
				add(r)
				add(ra)
				return nil, slices.Clone(cands[:n])
			}
		}
		add(r)
	}
	if n == 1 {
		return exact, nil
	}
	// The path's own rule first, so that it stays the answer when it is
	// strict enough.
next:
	for _, c := range cands[:n] {
		for _, o := range cands[:n] {
			if !c.implies(o) {
				continue next
			}
		}
		return c, nil
	}
	return nil, slices.Clone(cands[:n])
}

// lookup returns the rule mux matches for req's method and path, or nil (no
// match, or a ServeMux redirect).
func lookup(mux *http.ServeMux, req *http.Request, path string) *rule {
	req.URL.Path = path
	h, _ := mux.Handler(req)
	r, _ := h.(*rule)
	return r
}

// toggleSlash returns p with its trailing slash removed, or added; false
// for "/".
func toggleSlash(p string) (string, bool) {
	switch {
	case p == "/":
		return "", false
	case strings.HasSuffix(p, "/"):
		return p[:len(p)-1], true
	}
	return p + "/", true
}

// foldPath returns the case-folded form of a decoded path: two paths that
// any common case-insensitive comparison equates fold to the same string.
// Runes are equated along Unicode simple case folding (strings.EqualFold:
// the Kelvin sign with K, the long s with S) and along their upper and
// lower case mappings, which adds the dotted and dotless I (Java's
// equalsIgnoreCase and .NET's invariant upper case equate "ı" with "I").
func foldPath(p string) string {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return strings.Map(foldRune, p)
		}
	}
	return p
}

// foldRune maps a rune to one representative of its class (see foldPath):
// the lower case of the smallest member of its simple-folding orbit. Only
// U+0130 and U+0131 have a case mapping outside their orbit (checked by
// TestFoldRuneCoversCaseMappings).
func foldRune(r rune) rune {
	if r == '\u0130' || r == '\u0131' {
		return 'i'
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return unicode.ToLower(m)
}

// asciiLower lower-cases the ASCII letters of p, as a router that ignores
// ASCII case only does.
func asciiLower(p string) string {
	for i := 0; i < len(p); i++ {
		if c := p[i]; 'A' <= c && c <= 'Z' {
			b := []byte(p)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return p
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldPattern applies fold to the literal parts of a pattern's path,
// leaving its method and wildcard names alone. ServeMux unescapes pattern
// segments ("/%41dmin" is "/Admin"), so each segment is folded unescaped,
// and escaped again only if folding changed it.
func foldPattern(s string, fold func(string) string) string {
	method, path := splitPattern(s)
	var b strings.Builder
	if method != "" {
		b.WriteString(method)
		b.WriteByte(' ')
	}
	literal := func(lit string) {
		for i, seg := range strings.Split(lit, "/") {
			if i > 0 {
				b.WriteByte('/')
			}
			u, err := url.PathUnescape(seg)
			if err != nil {
				b.WriteString(seg) // invalid; ServeMux says why
				continue
			}
			if f := fold(u); f != u {
				b.WriteString(url.PathEscape(f))
			} else {
				b.WriteString(seg)
			}
		}
	}
	for path != "" {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			literal(path)
			break
		}
		j := strings.IndexByte(path[i:], '}')
		if j < 0 {
			b.WriteString(path) // invalid; ServeMux says why
			break
		}
		literal(path[:i])
		b.WriteString(path[i : i+j+1])
		path = path[i+j+1:]
	}
	return b.String()
}

// warnings describes, for each rule, the variants of its paths (letter
// case, trailing slash) that the rule set refuses as ambiguous, or that a
// broader, less strict rule judges because the configuration says the
// upstream tells them apart (paths.case_sensitive, paths.trailing_slash:
// strict). Each is fine only if the upstream routes that variant elsewhere.
func (rs *ruleSet) warnings() []string {
	var out []string
	seen := map[string]bool{}
	say := func(format string, args ...any) {
		if w := fmt.Sprintf(format, args...); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	for _, r := range rs.rules {
		method, sample := samplePath(r.pattern)
		base, _ := rs.match(method, sample)
		if base == nil {
			// The sample is ambiguous itself: its variants say why.
			base = r
		}
		variants := []string{sample, strings.ToUpper(sample), strings.ToLower(sample)}
		for _, v := range slices.Clone(variants) {
			if t, ok := toggleSlash(v); ok {
				variants = append(variants, t)
			}
		}
		for _, v := range variants {
			got, conflict := rs.match(method, v)
			switch {
			case conflict != nil:
				names := make([]string, len(conflict))
				for i, c := range conflict {
					names[i] = fmt.Sprintf("rules[%d] %q", c.index, c.pattern)
				}
				say("%s %s is refused: its letter-case and trailing-slash variants select %s, and none of them is at least as strict as the others; "+
					"give them the same requirements, or set paths.case_sensitive or paths.trailing_slash if the upstream tells these paths apart",
					method, v, strings.Join(names, ", "))
			case got != nil && got != base && !got.implies(base) && !writtenFor(got, v):
				say("%s %s is judged by rules[%d] %q, which requires less than rules[%d] %q that judges %s; "+
					"this is safe only if the upstream routes the two paths to different handlers, as paths.case_sensitive and paths.trailing_slash say it does",
					method, v, got.index, got.pattern, base.index, base.pattern, sample)
			}
		}
	}
	return out
}

// writtenFor reports whether r's pattern names path itself rather than
// matching it as a broader rule (a subtree or a wildcard the path does not
// fill): a rule written for the variant is what its author meant for it.
func writtenFor(r *rule, path string) bool {
	_, sample := samplePath(r.pattern)
	return sample == path
}

// samplePath returns a method and a decoded path that pattern matches:
// "{}" for each wildcard (no literal segment can be "{}"), nothing for {$},
// and GET for a pattern without a method.
func samplePath(pattern string) (string, string) {
	method, path := splitPattern(pattern)
	if method == "" {
		method = http.MethodGet
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		switch {
		case s == "{$}":
			segs[i] = ""
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			segs[i] = "{}"
		default:
			if u, err := url.PathUnescape(s); err == nil {
				segs[i] = u // ServeMux unescapes pattern segments
			}
		}
	}
	return method, strings.Join(segs, "/")
}

// validMethod reports whether m is an HTTP method token.
func validMethod(m string) bool {
	return validHeaderName(m)
}
