package validator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestStrictJSON(t *testing.T) {
	accept := []string{
		`{}`, ` {} `, "{\t\"a\"\r\n:\n1}", `{"a":1,"b":[1,2,{"c":null}],"d":{"e":true,"f":false}}`,
		`{"n":-0.5e+10,"m":0,"o":1E2}`, `{"s":"\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"}`, `{"é":1,"e":2}`,
		`{"a":{"a":{"a":1}}}`, `{"a":1,"b":{"a":2}}`, `{"x":"` + strings.Repeat("y", 100) + `"}`,
		// maxJSONDepth (32) levels, the top-level object included: at the limit.
		`{"a":` + strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1) + `}`,
		`{"a":` + strings.Repeat(`{"a":`, maxJSONDepth-1) + "1" + strings.Repeat("}", maxJSONDepth-1) + `}`,
	}
	reject := map[string]string{
		``:                         "not a JSON object",
		`[]`:                       "not a JSON object",
		`"x"`:                      "not a JSON object",
		`{} {}`:                    "data after",
		`{}x`:                      "data after",
		`{"a":1,}`:                 "malformed",
		`{"a" 1}`:                  "malformed",
		`{a:1}`:                    "malformed",
		`{"a":01}`:                 "malformed",
		`{"a":1.}`:                 "malformed",
		`{"a":.5}`:                 "malformed",
		`{"a":+1}`:                 "malformed",
		`{"a":1e}`:                 "malformed",
		`{"a":tru}`:                "malformed",
		`{"a":NaN}`:                "malformed",
		`{"a":[1,]}`:               "malformed",
		`{"a":1`:                   "truncated",
		`{"a":"x`:                  "truncated",
		`{"a":1,"a":2}`:            "duplicate",
		`{"a":1,"A":2}`:            "duplicate",
		`{"k":1,"\u212a":2}`:       "duplicate", // Kelvin sign folds to k
		`{"s":1,"\u017f":2}`:       "duplicate", // long s folds to s
		`{"x":{"b":1,"B":2}}`:      "duplicate",
		`{"x":[{"b":1,"b":2}]}`:    "duplicate",
		`{"\u0061":1,"a":2}`:       "duplicate",
		"{\"a\":\"\xff\"}":         "UTF-8",
		"{\"a\":\"\xed\xa0\x80\"}": "UTF-8", // a surrogate encoded in UTF-8
		"{\"a\":\"\xc0\xaf\"}":     "UTF-8", // overlong
		`{"a":"\ud800"}`:           "escape",
		`{"a":"\udc00"}`:           "escape",
		`{"a":"\ud800\u0041"}`:     "escape",
		`{"a":"\x"}`:               "escape",
		`{"a":"\u12"}`:             "escape",
		"{\"a\":\"\x01\"}":         "control",
		"{\"a\":\"\t\"}":           "control",
		`{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`: "deeply",
		// One level past maxJSONDepth, through arrays and through objects.
		`{"a":` + strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth) + `}`:           "deeply",
		`{"a":` + strings.Repeat(`{"a":`, maxJSONDepth) + "1" + strings.Repeat("}", maxJSONDepth) + `}`: "deeply",
		"\ufeff{}": "not a JSON object", // BOM
	}
	for _, doc := range accept {
		s := scanner{cursor: cursor{data: []byte(doc)}}
		if err := s.parse(); err != nil {
			t.Errorf("%q rejected: %v", doc, err)
		}
	}
	for doc, want := range reject {
		s := scanner{cursor: cursor{data: []byte(doc)}}
		err := s.parse()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", doc, err, want)
		}
	}
}

// TestStrictJSONManyMembers crosses the limits of the scanner's arrays and
// of pairwise duplicate detection.
func TestStrictJSONManyMembers(t *testing.T) {
	for _, n := range []int{stackMembers - 1, stackMembers + 1, linearDupLimit + 1, stackNames + 5, 500} {
		var b strings.Builder
		b.WriteString(`{`)
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"m` + strings.Repeat("x", i) + `":{"n":1,"N2":[` + strings.Repeat("1,", 3) + `1]}`)
		}
		doc := b.String() + "}"
		s := scanner{cursor: cursor{data: []byte(doc)}}
		if err := s.parse(); err != nil {
			t.Fatalf("%d members: %v", n, err)
		}
		if s.count() != n || s.find("m"+strings.Repeat("x", n-1)) != n-1 {
			t.Errorf("%d members: count %d", n, s.count())
		}
		dup := doc[:len(doc)-1] + `,"M` + strings.Repeat("X", n/2) + `":0}`
		s = scanner{cursor: cursor{data: []byte(dup)}}
		if err := s.parse(); err != errJSONDuplicate {
			t.Errorf("%d members and a case-variant duplicate: %v", n, err)
		}
	}
}

// FuzzStrictJSON checks the strict reader against encoding/json: whatever it
// accepts, encoding/json accepts too and reads the same top-level members
// (no duplicates, so no "last one wins"), with the same string values.
func FuzzStrictJSON(f *testing.F) {
	for _, seed := range []string{`{"alg":"RS256","kid":"k","typ":"at+jwt"}`, `{"a":[1,{"b":"\u00e9"}],"c":null}`,
		`{"iss":"https://as.example","aud":["a","b"],"exp":1700000000,"scope":"a b"}`, `{"a":1,"A":2}`} {
		f.Add([]byte(seed))
	}
	f.Add([]byte(`{"iss":1,"\u0131ss":2}`))
	f.Add([]byte(`{"k":1,"\u212a":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := scanner{cursor: cursor{data: data}}
		err := s.parse()
		// The answer does not depend on the object's size: padded past
		// linearDupLimit with members of names no fuzzed input has (so the
		// duplicates it holds are found by foldName instead of sameName),
		// it is the same.
		if (err == nil && s.count() > 0) || err == errJSONDuplicate {
			if padded, ok := padObject(data, linearDupLimit+8); ok {
				ps := scanner{cursor: cursor{data: padded}}
				perr := ps.parse()
				if perr != err || (err == nil && ps.count() != s.count()+linearDupLimit+8) {
					t.Fatalf("%d members: %v; padded with %d more: %v", s.count(), err, linearDupLimit+8, perr)
				}
			}
		}
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
		if len(m) != s.count() {
			t.Fatalf("%d members, encoding/json sees %d", s.count(), len(m))
		}
		for i := range s.count() {
			mem := s.member(i)
			raw, ok := m[string(mem.nameIn(data))]
			if !ok {
				t.Fatalf("member %q unknown to encoding/json", mem.nameIn(data))
			}
			if mem.kind == kindString {
				var want string
				if err := json.Unmarshal(raw, &want); err != nil || mem.text(data) != want {
					t.Fatalf("string %q, encoding/json reads %q (%v)", mem.text(data), want, err)
				}
			}
		}
	})
}

// padObject inserts n members named "\u2603<i>" (a snowman and a number) at
// the start of the object data holds. It reports false when data does not
// start (after whitespace) with a non-empty object, or already holds a
// snowman, which the padding could duplicate.
func padObject(data []byte, n int) ([]byte, bool) {
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	if i == len(data) || data[i] != '{' || bytes.Contains(data, []byte("\u2603")) || bytes.Contains(data, []byte("\\u2603")) {
		return nil, false
	}
	var b bytes.Buffer
	b.Write(data[:i+1])
	for k := range n {
		fmt.Fprintf(&b, `"\u2603%d":0,`, k)
	}
	b.Write(data[i+1:])
	return b.Bytes(), true
}

// TestCaseFoldingOneAnswer: whether two names are duplicates does not depend
// on the size of their object (pairwise comparison up to linearDupLimit
// members, a map of folded names beyond), and the answer is encoding/json's:
// two names are duplicates exactly when encoding/json would decode one into
// a struct field named by the other. The review's example: "iss" and the
// dotless "\u0131ss" are different names to encoding/json, but were refused
// as duplicates in an object of 40 more members only.
func TestCaseFoldingOneAnswer(t *testing.T) {
	for _, tt := range []struct {
		a, b string // as JSON strings, escapes allowed
		dup  bool
	}{
		{`"iss"`, `"\u0131ss"`, false}, // dotless i folds to nothing but itself
		{`"iss"`, `"ıss"`, false},
		{`"iss"`, `"\u0130ss"`, false}, // nor does the dotted capital I
		{`"iss"`, `"ISS"`, true},
		{`"iss"`, `"iSs"`, true},
		{`"kid"`, `"\u212aid"`, true}, // Kelvin sign
		{`"sub"`, `"\u017fub"`, true}, // long s
		{`"σ"`, `"ς"`, true},          // final sigma
		{`"Σ"`, `"ς"`, true},
		{`"ß"`, `"ẞ"`, true}, // capital sharp s
		{`"ǆ"`, `"ǅ"`, true}, // title case
		{`"é"`, `"É"`, true},
		{`"é"`, `"e"`, false},
		{`"ss"`, `"ß"`, false}, // full folding, which neither uses
		{`"a"`, `"b"`, false},
	} {
		t.Run(tt.a+","+tt.b, func(t *testing.T) {
			var a, b string
			if json.Unmarshal([]byte(tt.a), &a) != nil || json.Unmarshal([]byte(tt.b), &b) != nil {
				t.Fatal("bad test names")
			}
			if got := jsonConflates(t, a, b); got != tt.dup {
				t.Fatalf("encoding/json conflates %q and %q: %v; the table says %v", a, b, got, tt.dup)
			}
			for _, extra := range []int{0, 40} {
				var doc strings.Builder
				doc.WriteString("{")
				for i := range extra {
					fmt.Fprintf(&doc, `"m%d":%d,`, i, i)
				}
				doc.WriteString(tt.a + `:1,` + tt.b + `:2}`)
				s := scanner{cursor: cursor{data: []byte(doc.String())}}
				err := s.parse()
				if tt.dup && err != errJSONDuplicate {
					t.Errorf("with %d more members: %v, want a duplicate", extra, err)
				}
				if !tt.dup && err != nil {
					t.Errorf("with %d more members: %v, want accepted", extra, err)
				}
			}
		})
	}
}

// jsonConflates reports whether encoding/json decodes a member named b into
// a struct field named a, or a into b.
func jsonConflates(t *testing.T, a, b string) bool {
	t.Helper()
	into := func(field, member string) bool {
		typ := reflect.StructOf([]reflect.StructField{{Name: "F", Type: reflect.TypeFor[int](), Tag: reflect.StructTag(`json:"` + field + `"`)}})
		v := reflect.New(typ)
		doc, _ := json.Marshal(map[string]int{member: 1})
		if err := json.Unmarshal(doc, v.Interface()); err != nil {
			t.Fatal(err)
		}
		return v.Elem().Field(0).Int() == 1
	}
	// Twin: the field takes a member of its own name, so the tag is valid.
	if !into(a, a) || !into(b, b) {
		t.Fatalf("encoding/json ignores the tag %q or %q", a, b)
	}
	return into(a, b) || into(b, a)
}

// TestFoldNameMatchesEqualFold checks, for every rune, that foldName
// conflates it with exactly the runes bytes.EqualFold does (its folding
// orbit), and keeps it apart from its upper case of its lower case when
// bytes.EqualFold does (the old ToUpper(ToLower(r)) folding did not).
func TestFoldNameMatchesEqualFold(t *testing.T) {
	fold := func(r rune) string { return string(foldName(utf8.AppendRune(nil, r))) }
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		f := fold(r)
		for o := unicode.SimpleFold(r); o != r; o = unicode.SimpleFold(o) {
			if fold(o) != f {
				t.Fatalf("%U and %U: EqualFold, but foldName differs", r, o)
			}
		}
		u := unicode.ToUpper(unicode.ToLower(r))
		eq := bytes.EqualFold(utf8.AppendRune(nil, r), utf8.AppendRune(nil, u))
		if (fold(u) == f) != eq {
			t.Fatalf("%U and %U: EqualFold %v, foldName equal %v", r, u, eq, fold(u) == f)
		}
	}
}
