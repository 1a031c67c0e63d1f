package validator

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode"
	"unicode/utf8"
)

// A strict JSON reader for JOSE headers and JWT claims sets.
//
// encoding/json is lenient where an attacker can exploit the leniency: it
// keeps the last of duplicate members, matches struct fields case-insensitively
// (so "ALG" can stand in for "alg"), replaces invalid UTF-8 and lone
// surrogates with U+FFFD, and costs several allocations per token. Two parsers
// that disagree about what a token says are a classic source of bypasses, so
// this reader accepts exactly RFC 8259 and rejects, at every level of nesting:
//
//   - members whose names are equal, or equal under the case folding that
//     encoding/json uses to match struct fields (which is what a user's
//     Principal.Claims(&dst) will do);
//   - invalid UTF-8, lone surrogate escapes, control characters in strings;
//   - anything after the top-level value but whitespace, and a top-level value
//     that is not an object;
//   - nesting deeper than maxJSONDepth.
//
// It does not build values: it validates the whole document and reports the
// top-level members with the span of their values, which the header and
// claims code then decode one by one.

// jsonKind is the type of a JSON value.
type jsonKind uint8

const (
	kindString jsonKind = iota + 1
	kindNumber
	kindObject
	kindArray
	kindBool
	kindNull
)

const (
	// maxJSONDepth bounds nesting (the top-level object is depth 1), so that
	// "[[[[..." cannot exhaust the stack. Access tokens nest two or three deep.
	maxJSONDepth = 32
	// linearDupLimit is the number of members an object may have before
	// duplicate detection switches from pairwise comparison to a map, so that
	// a token packed with thousands of members costs linear time.
	linearDupLimit = 32
)

// jsonError is a fixed description of malformed JSON. It never quotes input.
type jsonError string

func (e jsonError) Error() string { return string(e) }

const (
	errJSONSyntax    jsonError = "malformed JSON"
	errJSONEOF       jsonError = "truncated JSON"
	errJSONNotObject jsonError = "not a JSON object"
	errJSONTrailing  jsonError = "data after the JSON object"
	errJSONDuplicate jsonError = "duplicate member names (possibly differing in case)"
	errJSONUTF8      jsonError = "invalid UTF-8 in a JSON string"
	errJSONControl   jsonError = "control character in a JSON string"
	errJSONEscape    jsonError = "invalid escape in a JSON string"
	errJSONDepth     jsonError = "JSON nested too deeply"
)

// span locates a string (without its quotes) in the document.
type span struct {
	key        uint64 // for ascii names: the length and the first bytes, each OR 0x20
	start, end int32
	esc        bool // holds escapes and must be unescaped
	ascii      bool // holds only ASCII bytes and no escapes
}

// in returns the string's content, decoded.
func (sp span) in(data []byte) []byte {
	if sp.esc {
		return unescape(nil, data[sp.start:sp.end])
	}
	return data[sp.start:sp.end]
}

// member is one top-level member of an object: its name, the type of its
// value and where the value lies in the document. It holds offsets rather
// than slices so that the scanner keeps members in arrays on the caller's
// stack (Go's escape analysis sends any pointer stored through a pointer to
// the heap).
type member struct {
	name       span
	start, end int32 // value span; for a string, including the quotes
	kind       jsonKind
	esc        bool // a string value holds escapes
}

// nameIn returns the member's decoded name.
func (m *member) nameIn(data []byte) []byte { return m.name.in(data) }

// raw returns the value's bytes; for a string, without the quotes.
func (m *member) raw(data []byte) []byte {
	if m.kind == kindString {
		return data[m.start+1 : m.end-1]
	}
	return data[m.start:m.end]
}

// text returns a string value decoded.
func (m *member) text(data []byte) string {
	if m.esc {
		return string(unescape(nil, m.raw(data)))
	}
	return string(m.raw(data))
}

// Capacities of the scanner's own arrays; documents beyond them spill to the
// heap. Access tokens have 8 to 30 claims.
const (
	stackMembers = 24
	stackNames   = 32
)

// scanner reads one document. Make it with a composite literal in the
// function that uses it (so that it stays on the stack), then call parse.
type scanner struct {
	cursor

	names  [stackNames]span // member names of the objects being read, innermost last
	nnames int
	top    [stackMembers]member // the top-level members
	ntop   int
	more   *spill // what does not fit in the arrays
}

// spill holds the names and members beyond the scanner's arrays. It is a
// separate allocation so that appending to it does not make escape analysis
// move the scanner (and the document it points to) to the heap.
type spill struct {
	names []span
	top   []member
}

// cursor reads tokens of a document.
type cursor struct {
	data      []byte
	pos       int
	lastEsc   bool // the last string read held an escape
	lastASCII bool // the last string read held only ASCII bytes
}

// parse validates s.data as one JSON object and collects its top-level
// members.
func (s *scanner) parse() error {
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return errJSONNotObject
	}
	if err := s.object(1); err != nil {
		return err
	}
	s.ws()
	if s.pos != len(s.data) {
		return errJSONTrailing
	}
	return nil
}

// count returns the number of top-level members.
func (s *scanner) count() int { return s.ntop }

// member returns the i-th top-level member.
func (s *scanner) member(i int) *member {
	if i < stackMembers {
		return &s.top[i]
	}
	return &s.more.top[i-stackMembers]
}

// find returns the index of the top-level member named name, or -1.
func (s *scanner) find(name string) int {
	for i := range s.ntop {
		if string(s.member(i).nameIn(s.data)) == name {
			return i
		}
	}
	return -1
}

func (s *scanner) addMember(m member) {
	if s.ntop < stackMembers {
		s.top[s.ntop] = m
	} else {
		if s.more == nil {
			s.more = new(spill)
		}
		s.more.top = append(s.more.top, m)
	}
	s.ntop++
}

func (s *scanner) name(i int) span {
	if i < stackNames {
		return s.names[i]
	}
	return s.more.names[i-stackNames]
}

func (s *scanner) pushName(sp span) {
	if s.nnames < stackNames {
		s.names[s.nnames] = sp
	} else {
		if s.more == nil {
			s.more = new(spill)
		}
		s.more.names = append(s.more.names, sp)
	}
	s.nnames++
}

// sameName reports whether two names are equal under encoding/json's case
// folding (Unicode simple folding: bytes.EqualFold, which foldName mirrors
// for large objects).
func (s *scanner) sameName(a, b span) bool {
	if a.ascii && b.ascii {
		// ASCII letters fold only to ASCII letters: lengths and keys must
		// match.
		if a.key != b.key {
			return false
		}
		return bytes.EqualFold(s.data[a.start:a.end], s.data[b.start:b.end])
	}
	if !a.esc && !b.esc {
		return bytes.EqualFold(s.data[a.start:a.end], s.data[b.start:b.end])
	}
	return bytes.EqualFold(a.in(s.data), b.in(s.data))
}

func (s *cursor) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// object reads an object starting at '{'. At depth 1 it collects the members.
func (s *scanner) object(depth int) error {
	if depth > maxJSONDepth {
		return errJSONDepth
	}
	s.pos++ // '{'
	base := s.nnames
	var folded map[string]struct{}
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		if s.pos >= len(s.data) {
			return errJSONEOF
		}
		if s.data[s.pos] != '"' {
			return errJSONSyntax
		}
		name := span{start: int32(s.pos + 1)}
		if err := s.str(); err != nil {
			return err
		}
		name.end, name.esc, name.ascii = int32(s.pos-1), s.lastEsc, s.lastASCII && !s.lastEsc
		if name.ascii {
			// Names equal under ASCII case folding have equal keys, so
			// unequal keys settle most comparisons at once.
			n := int(name.end - name.start)
			name.key = uint64(n & 0xff)
			for _, c := range s.data[name.start : int(name.start)+min(n, 7)] {
				name.key = name.key<<8 | uint64(c|0x20)
			}
		}
		if n := s.nnames - base; n < linearDupLimit {
			for i := base; i < s.nnames; i++ {
				if s.sameName(s.name(i), name) {
					return errJSONDuplicate
				}
			}
		} else {
			if folded == nil {
				folded = make(map[string]struct{}, 2*n)
				for i := base; i < s.nnames; i++ {
					folded[string(foldName(s.name(i).in(s.data)))] = struct{}{}
				}
			}
			k := string(foldName(name.in(s.data)))
			if _, dup := folded[k]; dup {
				return errJSONDuplicate
			}
			folded[k] = struct{}{}
		}
		s.pushName(name)

		s.ws()
		if s.pos >= len(s.data) {
			return errJSONEOF
		}
		if s.data[s.pos] != ':' {
			return errJSONSyntax
		}
		s.pos++
		s.ws()
		start := s.pos
		kind, err := s.value(depth)
		if err != nil {
			return err
		}
		if depth == 1 {
			s.addMember(member{name: name, kind: kind, esc: kind == kindString && s.lastEsc, start: int32(start), end: int32(s.pos)})
		}
		s.ws()
		if s.pos >= len(s.data) {
			return errJSONEOF
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			s.nnames = base
			if s.more != nil {
				s.more.names = s.more.names[:max(base-stackNames, 0)]
			}
			return nil
		default:
			return errJSONSyntax
		}
	}
}

func (s *scanner) array(depth int) error {
	if depth > maxJSONDepth {
		return errJSONDepth
	}
	s.pos++ // '['
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		if _, err := s.value(depth); err != nil {
			return err
		}
		s.ws()
		if s.pos >= len(s.data) {
			return errJSONEOF
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return errJSONSyntax
		}
	}
}

// value reads one value of any kind; depth is that of the enclosing container.
func (s *scanner) value(depth int) (jsonKind, error) {
	if s.pos >= len(s.data) {
		return 0, errJSONEOF
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		return kindString, s.str()
	case c == '{':
		return kindObject, s.object(depth + 1)
	case c == '[':
		return kindArray, s.array(depth + 1)
	case c == 't':
		return kindBool, s.literal("true")
	case c == 'f':
		return kindBool, s.literal("false")
	case c == 'n':
		return kindNull, s.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return kindNumber, s.number()
	}
	return 0, errJSONSyntax
}

func (s *cursor) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) {
		return errJSONEOF
	}
	if string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return errJSONSyntax
	}
	s.pos += len(lit)
	return nil
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *cursor) number() error {
	d, p := s.data, s.pos
	if d[p] == '-' {
		p++
	}
	switch {
	case p >= len(d):
		return errJSONEOF
	case d[p] == '0':
		p++
	case '1' <= d[p] && d[p] <= '9':
		p = digits(d, p)
	default:
		return errJSONSyntax
	}
	if p < len(d) && d[p] == '.' {
		q := digits(d, p+1)
		if q == p+1 {
			return errJSONSyntax
		}
		p = q
	}
	if p < len(d) && (d[p] == 'e' || d[p] == 'E') {
		p++
		if p < len(d) && (d[p] == '+' || d[p] == '-') {
			p++
		}
		q := digits(d, p)
		if q == p {
			return errJSONSyntax
		}
		p = q
	}
	s.pos = p
	return nil
}

func digits(d []byte, p int) int {
	for p < len(d) && '0' <= d[p] && d[p] <= '9' {
		p++
	}
	return p
}

// str reads a string starting at '"' and sets lastEsc.
func (s *cursor) str() error {
	s.pos++ // '"'
	s.lastEsc, s.lastASCII = false, true
	d := s.data
	for s.pos < len(d) {
		// Skip plain bytes eight at a time: a byte is special if it is a
		// quote, a backslash, a control character or non-ASCII. The lowest
		// flagged byte is always truly special (false positives, from
		// borrows, only occur above a true one), so jump straight to it.
		for s.pos+8 <= len(d) {
			const ones, highs = 0x0101010101010101, 0x8080808080808080
			x := binary.LittleEndian.Uint64(d[s.pos:])
			q, b := x^(ones*'"'), x^(ones*'\\')
			if m := ((x-ones*0x20)&^x | (q-ones)&^q | (b-ones)&^b | x) & highs; m != 0 {
				s.pos += bits.TrailingZeros64(m) / 8
				break
			}
			s.pos += 8
		}
		if s.pos >= len(d) {
			break
		}
		c := d[s.pos]
		switch {
		case c == '"':
			s.pos++
			return nil
		case c == '\\':
			s.lastEsc = true
			if err := s.escape(); err != nil {
				return err
			}
		case c < 0x20:
			return errJSONControl
		case c < utf8.RuneSelf:
			s.pos++
		default:
			s.lastASCII = false
			// DecodeRune also refuses surrogate halves and overlong forms.
			r, n := utf8.DecodeRune(d[s.pos:])
			if r == utf8.RuneError && n <= 1 {
				return errJSONUTF8
			}
			s.pos += n
		}
	}
	return errJSONEOF
}

// escape reads one escape sequence starting at '\'. A \u escape of a high
// surrogate must be followed by one of a low surrogate; a lone surrogate is
// refused, since decoders disagree on it (encoding/json makes it U+FFFD).
func (s *cursor) escape() error {
	d := s.data
	if s.pos+1 >= len(d) {
		return errJSONEOF
	}
	switch d[s.pos+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.pos += 2
		return nil
	case 'u':
	default:
		return errJSONEscape
	}
	r, ok := hex4(d, s.pos+2)
	if !ok {
		return errJSONEscape
	}
	s.pos += 6
	switch {
	case 0xDC00 <= r && r < 0xE000:
		return errJSONEscape
	case 0xD800 <= r && r < 0xDC00:
		if s.pos+1 >= len(d) || d[s.pos] != '\\' || d[s.pos+1] != 'u' {
			return errJSONEscape
		}
		lo, ok := hex4(d, s.pos+2)
		if !ok || lo < 0xDC00 || lo >= 0xE000 {
			return errJSONEscape
		}
		s.pos += 6
	}
	return nil
}

func hex4(d []byte, p int) (rune, bool) {
	if p+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[p : p+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unescape appends the decoded form of the content of a string the scanner
// has already validated.
func unescape(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		c := src[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch src[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(src, i+2)
			if 0xD800 <= r && r < 0xDC00 {
				lo, _ := hex4(src, i+8)
				r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				i += 6
			}
			dst = utf8.AppendRune(dst, r)
			i += 6
			continue
		default: // '"', '\\', '/'
			dst = append(dst, src[i+1])
		}
		i += 2
	}
	return dst
}

// foldName returns a form of name such that foldName(a) == foldName(b)
// exactly when bytes.EqualFold(a, b), as sameName compares small objects:
// Unicode simple case folding, by which encoding/json (Go 1.25 and later,
// with or without GOEXPERIMENT=jsonv2) matches member names to struct
// fields. Each rune becomes the smallest rune of its folding orbit, so "k",
// "K" and the Kelvin sign all become "K", while the dotless "ı", which
// folds to nothing but itself, stays apart from "i".
func foldName(name []byte) []byte {
	out := make([]byte, 0, len(name))
	for i := 0; i < len(name); {
		if c := name[i]; c < utf8.RuneSelf {
			// The smallest rune of an ASCII letter's orbit is its upper
			// case (the orbits of k and s hold runes above ASCII too).
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(name[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

// foldRune returns the smallest rune of r's orbit under unicode.SimpleFold:
// foldRune(a) == foldRune(b) exactly when bytes.EqualFold reports the two
// runes equal.
func foldRune(r rune) rune {
	for {
		next := unicode.SimpleFold(r)
		if next <= r {
			return next
		}
		r = next
	}
}

// arrayStrings calls f with the raw content and escape flag of each element
// of the already validated array m. It reports false as soon as
// an element is not a string or f returns false.
func arrayStrings(data []byte, m *member, f func(raw []byte, esc bool) bool) bool {
	end := int(m.end)
	s := cursor{data: data[:end], pos: int(m.start) + 1}
	for {
		s.ws()
		if s.pos >= end || s.data[s.pos] == ']' {
			return true
		}
		if s.data[s.pos] != '"' {
			return false
		}
		begin := s.pos + 1
		if s.str() != nil || !f(data[begin:s.pos-1], s.lastEsc) {
			return false
		}
		s.ws()
		if s.pos < end && s.data[s.pos] == ',' {
			s.pos++
		}
	}
}
