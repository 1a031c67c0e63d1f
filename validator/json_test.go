package validator

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStrictJSON(t *testing.T) {
	accept := []string{
		`{}`, ` {} `, "{\t\"a\"\r\n:\n1}", `{"a":1,"b":[1,2,{"c":null}],"d":{"e":true,"f":false}}`,
		`{"n":-0.5e+10,"m":0,"o":1E2}`, `{"s":"\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"}`, `{"é":1,"e":2}`,
		`{"a":{"a":{"a":1}}}`, `{"a":1,"b":{"a":2}}`, `{"x":"` + strings.Repeat("y", 100) + `"}`,
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
	f.Fuzz(func(t *testing.T, data []byte) {
		s := scanner{cursor: cursor{data: data}}
		if s.parse() != nil {
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
