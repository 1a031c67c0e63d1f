package metadata_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/tollgate/tollgate/internal/metadata"
	"github.com/tollgate/tollgate/internal/netpolicy"
	"github.com/tollgate/tollgate/oauthtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func mustIssuer(t *testing.T, raw string) metadata.Issuer {
	t.Helper()
	is, err := metadata.ParseIssuer(raw, false)
	if err != nil {
		t.Fatalf("ParseIssuer(%q): %v", raw, err)
	}
	return is
}

func TestDocumentURL(t *testing.T) {
	const oauth, oidc = "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"
	for _, tc := range []struct {
		issuer, wantOAuth, wantOpenID string
	}{
		{"https://as.example", "https://as.example" + oauth, "https://as.example" + oidc},
		{"https://as.example/", "https://as.example" + oauth, "https://as.example" + oidc},
		{"https://as.example/tenants/a", "https://as.example" + oauth + "/tenants/a", "https://as.example/tenants/a" + oidc},
		{"https://as.example/tenants/a/", "https://as.example" + oauth + "/tenants/a", "https://as.example/tenants/a" + oidc},
		{"https://as.example:8443/realms/x", "https://as.example:8443" + oauth + "/realms/x", "https://as.example:8443/realms/x" + oidc},
		// The issuer's escaping is kept: %2F is not a path separator.
		{"https://as.example/t%2Fa", "https://as.example" + oauth + "/t%2Fa", "https://as.example/t%2Fa" + oidc},
		{"http://localhost:8080/r", "http://localhost:8080" + oauth + "/r", "http://localhost:8080/r" + oidc},
		{"http://[::1]:8080", "http://[::1]:8080" + oauth, "http://[::1]:8080" + oidc},
	} {
		t.Run(tc.issuer, func(t *testing.T) {
			is := mustIssuer(t, tc.issuer)
			if got := is.DocumentURL(metadata.OAuth); got != tc.wantOAuth {
				t.Errorf("OAuth: %q, want %q", got, tc.wantOAuth)
			}
			if got := is.DocumentURL(metadata.OpenID); got != tc.wantOpenID {
				t.Errorf("OpenID: %q, want %q", got, tc.wantOpenID)
			}
			if is.String() != tc.issuer {
				t.Errorf("String = %q, want the issuer as configured", is.String())
			}
			got := is.DocumentURLs(metadata.OpenID, metadata.OAuth)
			if len(got) != 2 || got[0] != tc.wantOpenID || got[1] != tc.wantOAuth {
				t.Errorf("DocumentURLs(OpenID, OAuth) = %q: not in the order asked", got)
			}
		})
	}
}

// TestDocumentURLMatchesServer: the URLs are those a real server (oauthtest,
// which registers both documents for its issuer path) answers.
func TestDocumentURLMatchesServer(t *testing.T) {
	for _, path := range []string{"", "/tenants/a"} {
		t.Run("path "+path, func(t *testing.T) {
			as := oauthtest.New(oauthtest.Config{IssuerPath: path})
			defer as.Close()
			is := mustIssuer(t, as.Issuer())
			if got := is.DocumentURL(metadata.OAuth); got != as.MetadataURL() {
				t.Errorf("OAuth: %q, want %q", got, as.MetadataURL())
			}
			if got := is.DocumentURL(metadata.OpenID); got != as.OpenIDConfigurationURL() {
				t.Errorf("OpenID: %q, want %q", got, as.OpenIDConfigurationURL())
			}
		})
	}
}

func TestParseIssuer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		raw       string
		allowHTTP bool
		ok        bool
		insecure  bool // the error is netpolicy.ErrInsecureURL
	}{
		{"https", "https://as.example/t", false, true, false},
		{"http loopback", "http://127.0.0.1:9/t", false, true, false},
		{"http public", "http://as.example/t", false, false, true},
		{"http public allowed", "http://as.example/t", true, true, false},
		{"user information", "https://user:hunter2@as.example/t", false, false, false},
		{"user name only", "https://user@as.example/t", false, false, false},
		{"query", "https://as.example/t?tenant=a", false, false, false},
		{"empty query", "https://as.example/t?", false, false, false},
		{"fragment", "https://as.example/t#x", false, false, false},
		{"relative", "/t", false, false, false},
		{"empty", "", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := metadata.ParseIssuer(tc.raw, tc.allowHTTP)
			if tc.ok != (err == nil) {
				t.Fatalf("ParseIssuer(%q) = %v; want success: %v", tc.raw, err, tc.ok)
			}
			if err != nil && errors.Is(err, netpolicy.ErrInsecureURL) != tc.insecure {
				t.Errorf("errors.Is(%v, ErrInsecureURL) != %v", err, tc.insecure)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error quotes the password: %v", err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	const iss = "https://as.example/tenants/a"
	for _, tc := range []struct {
		name   string
		body   string
		issuer string
		want   error // nil: accepted
	}{
		{"good", `{"issuer":"https://as.example/tenants/a","jwks_uri":"https://as.example/jwks"}`, iss, nil},
		{"good, whitespace", " \n{ \"issuer\" : \"https://as.example/tenants/a\" }\n", iss, nil},
		{"good, escaped issuer", `{"issuer":"https:\/\/as.example\/tenants\/a"}`, iss, nil},
		{"other issuer", `{"issuer":"https://evil.example/tenants/a"}`, iss, metadata.ErrIssuerMismatch},
		{"document adds a trailing slash", `{"issuer":"https://as.example/tenants/a/"}`, iss, metadata.ErrIssuerMismatch},
		{"configuration has a trailing slash", `{"issuer":"https://as.example/tenants/a"}`, iss + "/", metadata.ErrIssuerMismatch},
		{"both have it", `{"issuer":"https://as.example/tenants/a/"}`, iss + "/", nil},
		{"case differs", `{"issuer":"https://AS.example/tenants/a"}`, iss, metadata.ErrIssuerMismatch},
		{"path differs", `{"issuer":"https://as.example/tenants/b"}`, iss, metadata.ErrIssuerMismatch},
		{"no issuer", `{"jwks_uri":"https://as.example/jwks"}`, iss, metadata.ErrIssuerMismatch},
		{"null issuer", `{"issuer":null}`, iss, metadata.ErrIssuerMismatch},
		{"member names compared exactly", `{"ISSUER":"https://as.example/tenants/a"}`, iss, metadata.ErrIssuerMismatch},
		{"issuer not a string", `{"issuer":["https://as.example/tenants/a"]}`, iss, metadata.ErrNotObject},
		{"duplicate issuer, ours first", `{"issuer":"https://as.example/tenants/a","issuer":"https://evil.example"}`, iss, metadata.ErrNotObject},
		{"duplicate issuer, ours last", `{"issuer":"https://evil.example","issuer":"https://as.example/tenants/a"}`, iss, metadata.ErrNotObject},
		{"duplicate issuer, escaped", `{"issu\u0065r":"https://evil.example","issuer":"https://as.example/tenants/a"}`, iss, metadata.ErrNotObject},
		{"duplicate other member", `{"issuer":"https://as.example/tenants/a","x":1,"x":2}`, iss, metadata.ErrNotObject},
		{"array", `[{"issuer":"https://as.example/tenants/a"}]`, iss, metadata.ErrNotObject},
		{"null", `null`, iss, metadata.ErrNotObject},
		{"string", `"https://as.example/tenants/a"`, iss, metadata.ErrNotObject},
		{"empty", ``, iss, metadata.ErrNotObject},
		{"html", `<html>`, iss, metadata.ErrNotObject},
		{"truncated", `{"issuer":"https://as.example/tenants/a"`, iss, metadata.ErrNotObject},
		{"two objects", `{"issuer":"https://as.example/tenants/a"}{}`, iss, metadata.ErrNotObject},
		{"trailing garbage", `{"issuer":"https://as.example/tenants/a"} x`, iss, metadata.ErrNotObject},
		{"invalid UTF-8", "{\"issuer\":\"https://as.example/tenants/a\",\"x\":\"\xff\"}", iss, metadata.ErrNotObject},
		{"byte order mark", "\ufeff{\"issuer\":\"https://as.example/tenants/a\"}", iss, metadata.ErrNotObject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := metadata.Parse([]byte(tc.body), tc.issuer)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestParseClipsIssuer: a hostile document cannot put a huge value into our
// errors (and so into logs).
func TestParseClipsIssuer(t *testing.T) {
	long := "https://evil.example/" + strings.Repeat("a", 100_000)
	_, err := metadata.Parse([]byte(`{"issuer":"`+long+`"}`), "https://as.example")
	if !errors.Is(err, metadata.ErrIssuerMismatch) {
		t.Fatalf("err = %v", err)
	}
	if n := len(err.Error()); n > 500 {
		t.Fatalf("error of %d bytes", n)
	}
}

func TestEndpoint(t *testing.T) {
	const iss = "https://as.example"
	for _, tc := range []struct {
		name      string
		member    string // the value of jwks_uri, as JSON; empty: none
		allowHTTP bool
		want      error // nil: accepted; errAny: any error
	}{
		{"https", `"https://keys.example/jwks"`, false, nil},
		{"http loopback", `"http://127.0.0.1:8080/jwks"`, false, nil},
		{"http public", `"http://keys.example/jwks"`, false, netpolicy.ErrInsecureURL},
		{"http public allowed", `"http://keys.example/jwks"`, true, nil},
		{"http localhost lookalike", `"http://localhost.evil.example/jwks"`, false, netpolicy.ErrInsecureURL},
		{"other scheme", `"file:///etc/passwd"`, true, errAny},
		{"relative", `"/jwks"`, false, errAny},
		{"fragment", `"https://keys.example/jwks#x"`, false, errAny},
		{"missing", ``, false, metadata.ErrNoMember},
		{"null", `null`, false, metadata.ErrNoMember},
		{"empty", `""`, false, metadata.ErrNoMember},
		{"number", `42`, false, metadata.ErrNotObject},
		{"array", `["https://keys.example/jwks"]`, false, metadata.ErrNotObject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"issuer":"` + iss + `"`
			if tc.member != "" {
				body += `,"jwks_uri":` + tc.member
			}
			body += `,"introspection_endpoint":"https://as.example/introspect"}`
			doc, err := metadata.Parse([]byte(body), iss)
			if err != nil {
				t.Fatal(err)
			}
			ep, err := doc.Endpoint("jwks_uri", tc.allowHTTP)
			switch {
			case tc.want == nil:
				if err != nil || ep == "" {
					t.Fatalf("Endpoint = %q, %v", ep, err)
				}
			case err == nil:
				t.Fatalf("accepted %q", ep)
			case tc.want != errAny && !errors.Is(err, tc.want):
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), "jwks_uri") {
				t.Errorf("the error does not name the member: %v", err)
			}
			// The other member is read on its own.
			if ep, err := doc.Endpoint("introspection_endpoint", false); err != nil || ep != "https://as.example/introspect" {
				t.Errorf("introspection_endpoint = %q, %v", ep, err)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestEndpointRedactsPassword(t *testing.T) {
	doc, err := metadata.Parse([]byte(`{"issuer":"https://as.example","jwks_uri":"http://u:hunter2@keys.example/jwks"}`), "https://as.example")
	if err != nil {
		t.Fatal(err)
	}
	_, err = doc.Endpoint("jwks_uri", false)
	if !errors.Is(err, netpolicy.ErrInsecureURL) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v; want a refusal without the password", err)
	}
}

// TestFetcherAgainstServer reads both kinds of document from a real server
// whose issuer has a path.
func TestFetcherAgainstServer(t *testing.T) {
	as := oauthtest.New(oauthtest.Config{IssuerPath: "/tenants/a"})
	defer as.Close()
	f := &metadata.Fetcher{Client: as.Client(), Issuer: mustIssuer(t, as.Issuer()), MaxBytes: 64 << 10}
	for _, k := range []metadata.Kind{metadata.OAuth, metadata.OpenID} {
		for member, want := range map[string]string{"jwks_uri": as.JWKSURL(), "introspection_endpoint": as.IntrospectionURL()} {
			ep, status, err := f.Endpoint(context.Background(), f.Issuer.DocumentURL(k), member, false)
			if err != nil || ep != want || status != http.StatusOK {
				t.Errorf("kind %d, %s: %q, %d, %v; want %q", k, member, ep, status, err, want)
			}
		}
	}
	if as.Requests(oauthtest.EndpointServerMetadata) != 2 || as.Requests(oauthtest.EndpointOpenIDConfiguration) != 2 {
		t.Error("not every document was fetched from its well-known location")
	}

	// A server whose metadata names another issuer.
	other := oauthtest.New(oauthtest.Config{IssuerPath: "/tenants/b"})
	defer other.Close()
	f.Issuer = mustIssuer(t, other.Issuer()+"/")
	_, status, err := f.Endpoint(context.Background(), other.OpenIDConfigurationURL(), "jwks_uri", false)
	if !errors.Is(err, metadata.ErrIssuerMismatch) || status != http.StatusOK {
		t.Fatalf("trailing slash in the configuration: %d, %v; want ErrIssuerMismatch", status, err)
	}
	if !strings.Contains(err.Error(), other.OpenIDConfigurationURL()) {
		t.Errorf("the error does not name the document: %v", err)
	}
}

// document serves body at every path and records the requests' headers.
func document(t *testing.T, status int, body string) (*httptest.Server, *http.Header) {
	t.Helper()
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestFetcher(t *testing.T) {
	good := func(iss string) string {
		return `{"issuer":"` + iss + `","jwks_uri":"https://keys.example/jwks","pad":"` + strings.Repeat("x", 1000) + `"}`
	}
	for _, tc := range []struct {
		name       string
		status     int
		body       func(iss string) string
		maxBytes   int64 // 0: the body's length
		want       error // nil: accepted; errAny: any error
		wantStatus int
	}{
		{"good", 200, good, 0, nil, 200},
		{"body over the limit", 200, good, -1, netpolicy.ErrBodyTooLarge, 200},
		{"not found", 404, good, 0, errAny, 404},
		{"server error", 500, good, 0, errAny, 500},
		{"not an object", 200, func(string) string { return `[]` }, 0, metadata.ErrNotObject, 200},
		{"other issuer", 200, func(string) string { return good("https://evil.example") }, 0, metadata.ErrIssuerMismatch, 200},
		{"no member", 200, func(iss string) string { return `{"issuer":"` + iss + `"}` }, 0, metadata.ErrNoMember, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var iss string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body(iss)))
			}))
			defer srv.Close()
			iss = srv.URL + "/t"
			f := &metadata.Fetcher{Client: srv.Client(), Issuer: mustIssuer(t, iss), MaxBytes: int64(len(tc.body(iss))) + tc.maxBytes}
			ep, status, err := f.Endpoint(context.Background(), f.Issuer.DocumentURL(metadata.OAuth), "jwks_uri", false)
			if status != tc.wantStatus {
				t.Errorf("status = %d, want %d", status, tc.wantStatus)
			}
			switch {
			case tc.want == nil:
				if err != nil || ep != "https://keys.example/jwks" {
					t.Fatalf("Endpoint = %q, %v", ep, err)
				}
			case err == nil:
				t.Fatalf("accepted %q", ep)
			case tc.want != errAny && !errors.Is(err, tc.want):
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFetcherHeaders(t *testing.T) {
	for _, noCache := range []bool{false, true} {
		srv, got := document(t, 200, "")
		is := mustIssuer(t, srv.URL)
		f := &metadata.Fetcher{Client: srv.Client(), Issuer: is, MaxBytes: 1 << 10}
		_, _, _ = f.Endpoint(context.Background(), is.DocumentURL(metadata.OpenID), "jwks_uri", noCache)
		if a := got.Get("Accept"); a != "application/json" {
			t.Errorf("Accept = %q", a)
		}
		if cc := got.Get("Cache-Control"); (cc == "no-cache") != noCache {
			t.Errorf("noCache %v: Cache-Control = %q", noCache, cc)
		}
	}
}

// TestFetcherRedactsPassword: a document URL with a password (a proxy's
// credentials, say) never shows it in an error.
func TestFetcherRedactsPassword(t *testing.T) {
	for _, status := range []int{200, 500} {
		srv, _ := document(t, status, `{"issuer":"https://evil.example"}`)
		f := &metadata.Fetcher{Client: srv.Client(), Issuer: mustIssuer(t, "https://as.example"), MaxBytes: 1 << 10}
		u := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1) + "/.well-known/openid-configuration"
		_, _, err := f.Endpoint(context.Background(), u, "jwks_uri", false)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("status %d: err = %v; want a failure without the password", status, err)
		}
	}
	// An unparsable URL is not quoted at all.
	f := &metadata.Fetcher{Client: http.DefaultClient, Issuer: mustIssuer(t, "https://as.example"), MaxBytes: 1 << 10}
	_, _, err := f.Endpoint(context.Background(), "http://user:hunter2@as.example/%zz", "jwks_uri", false)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v; want a failure without the password", err)
	}
}

// FuzzParse: no input makes Parse panic, and whatever it accepts names the
// issuer exactly and yields only endpoints that pass the URL policy.
func FuzzParse(f *testing.F) {
	const iss = "https://as.example/t"
	for _, s := range []string{
		`{"issuer":"https://as.example/t","jwks_uri":"https://as.example/t/jwks","introspection_endpoint":"https://as.example/t/introspect"}`,
		`{"issuer":"https://as.example/t","jwks_uri":"http://keys.example/jwks"}`,
		`{"issuer":"https://as.example/t","issuer":"https://evil.example"}`,
		`{"issuer":"https://as.example/t/","jwks_uri":null}`,
		`{"issuer":"https:\/\/as.example\/t","jwks_uri":["x"],"nested":{"a":[1,2,{"b":null}]}}`,
		`[]`, `null`, ``, `{"issuer":"https://as.example/t"} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := metadata.Parse(body, iss)
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		var got string
		if err := json.Unmarshal(body, &m); err != nil || json.Unmarshal(m["issuer"], &got) != nil || got != iss {
			t.Fatalf("accepted a document whose issuer is %s (%v)", m["issuer"], err)
		}
		for _, allowHTTP := range []bool{false, true} {
			for _, m := range []string{"jwks_uri", "introspection_endpoint"} {
				ep, err := doc.Endpoint(m, allowHTTP)
				if err != nil {
					continue
				}
				if _, err := netpolicy.CheckURL(ep, allowHTTP); err != nil {
					t.Fatalf("%s %q accepted, but CheckURL says %v", m, ep, err)
				}
			}
		}
	})
}
