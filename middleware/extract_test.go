package middleware

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate"
)

// FuzzExtract feeds the extraction every combination of Authorization
// headers, query, method, content type and body, with form and query tokens
// on or off, and checks what must always hold: a token comes out only from
// exactly one place and is a valid b64token; it agrees with what
// url.ParseQuery reads; a query token never reaches the handler's URL; errors
// are of the two extraction kinds and carry only fixed text.
func FuzzExtract(f *testing.F) {
	f.Add(uint8(1), "Bearer abc", "", "", false, "", "", false, false)
	f.Add(uint8(2), "Bearer abc", "Bearer abc", "", false, "", "", true, true)
	f.Add(uint8(0), "", "", "a=1&access_token=abc&b=2", false, "", "", false, true)
	f.Add(uint8(1), "Bearer abc", "", "access_token=abc", false, "", "", false, false)
	f.Add(uint8(0), "", "", "%61ccess_token=a%2Bb", false, "", "", false, true)
	f.Add(uint8(0), "", "", "x=1;access_token=abc", false, "", "", false, true)
	f.Add(uint8(0), "", "", "access_token=a%zz", false, "", "", false, true)
	f.Add(uint8(0), "", "", "", true, "application/x-www-form-urlencoded", "access_token=abc&x=1", true, false)
	f.Add(uint8(0), "", "", "access_token=q", true, "application/x-www-form-urlencoded; charset=utf-8", "access_token=abc", true, true)
	f.Add(uint8(1), "basic x", "", "access_token=abc", true, "application/x-www-form-urlencoded", "access_token=abc", true, true)
	f.Add(uint8(1), "BEARER  a.b-c_d~e+f/g==", "", "", false, "", "", false, false)
	f.Fuzz(func(t *testing.T, nAuth uint8, auth1, auth2, query string, post bool, ctype, body string, allowForm, allowQuery bool) {
		m := &Middleware{allowForm: allowForm, allowQuery: allowQuery, maxForm: 256}
		r := &http.Request{
			Method:     http.MethodGet,
			URL:        &url.URL{Path: "/p", RawQuery: query},
			RequestURI: "/p?" + query,
			Header:     http.Header{},
			Body:       io.NopCloser(strings.NewReader(body)),
		}
		if post {
			r.Method = http.MethodPost
		}
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		for _, a := range []string{auth1, auth2}[:min(int(nAuth%3), 2)] {
			r.Header.Add("Authorization", a)
		}
		origURL := r.URL.String()

		token, r2, err := m.extract(httptest.NewRecorder(), r)

		if r.URL.String() != origURL || r.RequestURI != "/p?"+query {
			t.Fatal("extract modified the caller's request")
		}
		if r2 == nil {
			t.Fatal("nil request")
		}
		queryVals, qerr := url.ParseQuery(query)
		headerTok, herr := "", error(nil)
		if n := len(r.Header["Authorization"]); n == 1 {
			headerTok, herr = tollgate.ParseAuthorization(r.Header["Authorization"][0])
		}

		if err != nil {
			if token != "" {
				t.Fatal("token returned with an error")
			}
			if !errors.Is(err, tollgate.ErrNoToken) && !errors.Is(err, tollgate.ErrInvalidRequest) {
				t.Fatalf("error of kind %v", err.Kind)
			}
			if err.Err != nil || !fixedDetail(err.Detail) {
				t.Fatalf("error carries more than fixed text: %q %v", err.Detail, err.Err)
			}
			// A valid header credential alone is never refused.
			if len(r.Header["Authorization"]) == 1 && herr == nil && scanParam(query).count == 0 && !(allowForm && post) {
				t.Fatalf("valid header token refused: %v", err)
			}
			// A valid, enabled query token alone is never refused.
			if allowQuery && qerr == nil && len(queryVals["access_token"]) == 1 && tollgate.CheckToken(queryVals["access_token"][0]) == nil &&
				len(r.Header["Authorization"]) == 0 && !(allowForm && post) && scanParam(query).count == 1 {
				t.Fatalf("valid query token refused: %v", err)
			}
			return
		}

		if tollgate.CheckToken(token) != nil {
			t.Fatalf("token %q is not a b64token", token)
		}
		formScan := scanParam(body)
		fromForm := allowForm && post && isFormPost(r) && formScan.count > 0
		switch {
		case len(r.Header["Authorization"]) == 1 && herr == nil:
			if token != headerTok || scanParam(query).count > 0 || fromForm {
				t.Fatalf("header token %q accepted with another place (query %q, form %v)", token, query, fromForm)
			}
		case fromForm:
			if scanParam(query).count > 0 || formScan.value != token {
				t.Fatalf("form token %q accepted with query %q", token, query)
			}
			if pf := r2.PostForm; pf.Has(tokenParam) {
				t.Fatal("form token left in PostForm")
			}
			b, _ := io.ReadAll(r2.Body)
			if scanParam(string(b)).count != 0 {
				t.Fatalf("form token left in the body: %q", b)
			}
		default:
			if !allowQuery {
				t.Fatal("query token accepted while not enabled")
			}
			if qerr == nil && !slices.Equal(queryVals[tokenParam], []string{token}) {
				t.Fatalf("query token %q, url.ParseQuery reads %q", token, queryVals[tokenParam])
			}
			_, uriQuery, _ := strings.Cut(r2.RequestURI, "?")
			for _, s := range []string{r2.URL.RawQuery, uriQuery} {
				if scanParam(s).count != 0 {
					t.Fatalf("query token left in %q", s)
				}
				// The other parameters are untouched.
				if qerr == nil {
					after, err := url.ParseQuery(s)
					delete(queryVals, tokenParam)
					if err != nil || !maps.EqualFunc(after, queryVals, slices.Equal) {
						t.Fatalf("stripping changed other parameters: %q -> %q", query, s)
					}
				}
			}
		}
	})
}

func fixedDetail(d string) bool {
	switch d {
	case "no bearer credentials", "empty bearer token", "malformed bearer token",
		detailMultipleHeaders, detailMultiplePlaces, detailMultipleParams, detailFormTooLarge, detailFormUnreadable:
		return true
	}
	return false
}

func TestStripParam(t *testing.T) {
	for in, want := range map[string]string{
		"":                                 "",
		"a=1":                              "a=1",
		"access_token=x":                   "",
		"a=1&access_token=x&b=2":           "a=1&b=2",
		"access_token=x&access_token=y&c":  "c",
		"%61ccess_token=x&a=%20":           "a=%20",
		"x;access_token=y&access_token=z":  "x;access_token=y",
		"access_token&access_token_x=1":    "access_token_x=1",
		"a=1&&access_token=a%zz&b=+":       "a=1&&b=+",
		"access%5Ftoken=1&access+token=2":  "access+token=2",
		"access_token=1=2&z=access_token":  "z=access_token",
		"access%zztoken=1&access_token%=2": "access%zztoken=1&access_token%=2",
	} {
		if got := stripParam(in); got != want {
			t.Errorf("stripParam(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScanParamDoesNotAllocate(t *testing.T) {
	for _, q := range []string{"", "a=1&b=2", "page=3&access_token=abc.def"} {
		if n := testing.AllocsPerRun(100, func() { scanParam(q) }); n != 0 {
			t.Errorf("scanParam(%q): %v allocations", q, n)
		}
	}
}
