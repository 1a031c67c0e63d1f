package netpolicy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestIsLoopback(t *testing.T) {
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LOCALHOST", true},
		{"localhost.", true},
		{"as-1234.oauthtest.localhost", true},
		{"x.localhost.", true},
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"fe80::1%eth0", false},
		{"::1%lo", true},
		{"localhost.example.com", false},
		{"notlocalhost", false},
		{"mylocalhost", false},
		{"128.0.0.1", false},
		{"10.0.0.1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"example.com", false},
		{"", false},
	} {
		t.Run(tc.host, func(t *testing.T) {
			if got := IsLoopback(tc.host); got != tc.want {
				t.Errorf("IsLoopback(%q) = %v, want %v", tc.host, got, tc.want)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		name      string
		raw       string
		allowHTTP bool
		ok        bool
		insecure  bool // the error is ErrInsecureURL
	}{
		{"https", "https://as.example.com/jwks", false, true, false},
		{"https uppercase scheme", "HTTPS://as.example.com/jwks", false, true, false},
		{"https with port and query", "https://as.example.com:8443/jwks?v=1", false, true, false},
		{"http public", "http://as.example.com/jwks", false, false, true},
		{"http public allowed", "http://as.example.com/jwks", true, true, false},
		{"http localhost", "http://localhost:8080/jwks", false, true, false},
		{"http sub.localhost", "http://as-1.oauthtest.localhost/jwks", false, true, false},
		{"http 127.0.0.1", "http://127.0.0.1:9/jwks", false, true, false},
		{"http [::1]", "http://[::1]:9/jwks", false, true, false},
		{"http localhost lookalike", "http://localhost.evil.example/jwks", false, false, true},
		{"http userinfo lookalike", "http://localhost@evil.example/jwks", false, false, true},
		{"ftp", "ftp://as.example.com/jwks", true, false, true},
		{"file", "file:///etc/passwd", true, false, false},
		{"relative", "/jwks", false, false, false},
		{"no host", "https:///jwks", false, false, false},
		{"opaque", "https:as.example.com", false, false, false},
		{"fragment", "https://as.example.com/jwks#x", false, false, false},
		{"empty fragment", "https://as.example.com/jwks#", false, false, false},
		{"unparsable", "https://as.example.com/%zz", false, false, false},
		{"empty", "", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := CheckURL(tc.raw, tc.allowHTTP)
			if tc.ok {
				if err != nil || u == nil {
					t.Fatalf("CheckURL(%q) = %v, %v; want a URL", tc.raw, u, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckURL(%q) accepted it", tc.raw)
			}
			if got := errors.Is(err, ErrInsecureURL); got != tc.insecure {
				t.Errorf("errors.Is(%v, ErrInsecureURL) = %v, want %v", err, got, tc.insecure)
			}
		})
	}
}

func TestCheckURLRedactsPassword(t *testing.T) {
	_, err := CheckURL("http://user:hunter2@as.example.com/jwks", false)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v; want a refusal without the password", err)
	}
	// A URL without "https://" is opaque, and url.URL.Redacted prints it
	// whole.
	_, err = CheckURL("user:hunter2@as.example.com/jwks", false)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v; want a refusal without the password", err)
	}
	if _, err := CheckURL("https://user:hunter2@as.example.com/jwks", false); err != nil {
		t.Fatalf("passing twin: %v", err)
	}
}

func req(t *testing.T, raw string) *http.Request {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Request{URL: u}
}

func TestFollowSecure(t *testing.T) {
	for _, tc := range []struct {
		name      string
		from, to  string
		allowHTTP bool
		ok        bool
	}{
		{"https to https", "https://a.example/x", "https://b.example/y", false, true},
		{"http loopback to https", "http://localhost/x", "https://b.example/y", false, true},
		{"https to http", "https://a.example/x", "http://b.example/y", false, false},
		{"https to http allowed", "https://a.example/x", "http://b.example/y", true, true},
		{"https to http loopback", "https://a.example/x", "http://127.0.0.1/y", false, false},
		{"loopback to http public", "http://127.0.0.1/x", "http://b.example/y", false, false},
		{"loopback to loopback", "http://127.0.0.1/x", "http://localhost:8/y", false, true},
		{"loopback https to loopback http", "https://localhost/x", "http://a.localhost/y", false, true},
		{"to ftp", "https://a.example/x", "ftp://b.example/y", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := FollowSecure(tc.allowHTTP)(req(t, tc.to), []*http.Request{req(t, tc.from)})
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrRedirect) {
				t.Fatalf("err = %v, want ErrRedirect", err)
			}
		})
	}
	t.Run("too many", func(t *testing.T) {
		var via []*http.Request
		for range MaxRedirects - 1 {
			via = append(via, req(t, "https://a.example/"))
		}
		if err := FollowSecure(false)(req(t, "https://b.example/"), via); err != nil {
			t.Fatalf("redirect %d refused: %v", MaxRedirects, err)
		}
		via = append(via, req(t, "https://a.example/"))
		if err := FollowSecure(false)(req(t, "https://b.example/"), via); !errors.Is(err, ErrRedirect) {
			t.Fatalf("redirect %d: err = %v, want ErrRedirect", MaxRedirects+1, err)
		}
	})
}

// TestClientRedirects runs real redirects through a loopback server.
func TestClientRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/to-http-public", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://jwks.example.test/jwks", http.StatusFound)
	})
	mux.HandleFunc("/to-loopback", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusFound)
	})
	mux.HandleFunc("/target", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct {
		name   string
		policy RedirectPolicy
		path   string
		ok     bool
	}{
		{"secure, loopback to loopback", FollowSecure(false), "/to-loopback", true},
		{"secure, loopback to public http", FollowSecure(false), "/to-http-public", false},
		{"none, loopback to loopback", NoRedirects(), "/to-loopback", false},
		{"none, no redirect", NoRedirects(), "/target", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := srv.Client()
			c := Client(base, tc.policy)
			resp, err := c.Get(srv.URL + tc.path)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := ReadBody(resp, 10)
				if string(body) != "ok" {
					t.Fatalf("body %q", body)
				}
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatal("redirect followed")
			}
			if !errors.Is(err, ErrRedirect) {
				t.Fatalf("err = %v, want ErrRedirect", err)
			}
		})
	}
}

func TestClientDoesNotModifyBase(t *testing.T) {
	called := 0
	inner := func(*http.Request, []*http.Request) error { called++; return nil }
	base := &http.Client{CheckRedirect: inner, Timeout: 7}
	c := Client(base, NoRedirects())
	if base.CheckRedirect == nil || base.Timeout != 7 {
		t.Fatal("base client modified")
	}
	if c.Timeout != 7 {
		t.Fatal("timeout not kept")
	}
	r := req(t, "https://a.example/")
	if err := c.CheckRedirect(r, []*http.Request{r}); !errors.Is(err, ErrRedirect) || called != 0 {
		t.Fatalf("err = %v, inner called %d times; want the policy to refuse first", err, called)
	}
	c = Client(base, FollowSecure(false))
	if err := c.CheckRedirect(r, []*http.Request{r}); err != nil || called != 1 {
		t.Fatalf("err = %v, inner called %d times; want the base's CheckRedirect to run after the policy", err, called)
	}
	if Client(nil, NoRedirects()) == http.DefaultClient || http.DefaultClient.CheckRedirect != nil {
		t.Fatal("http.DefaultClient modified")
	}
}

func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		name          string
		body          string
		contentLength int64
		limit         int64
		ok            bool
	}{
		{"under", "abc", -1, 4, true},
		{"at", "abcd", -1, 4, true},
		{"past", "abcde", -1, 4, false},
		{"at, announced", "abcd", 4, 4, true},
		{"announced past", "abcd", 5, 4, false},
		{"announced short, sent long", "abcdefgh", 2, 4, false},
		{"empty", "", 0, 4, true},
		{"zero limit", "a", -1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{Body: io.NopCloser(strings.NewReader(tc.body)), ContentLength: tc.contentLength}
			data, err := ReadBody(resp, tc.limit)
			if tc.ok {
				if err != nil || string(data) != tc.body {
					t.Fatalf("ReadBody = %q, %v", data, err)
				}
				return
			}
			if !errors.Is(err, ErrBodyTooLarge) {
				t.Fatalf("err = %v, want ErrBodyTooLarge", err)
			}
		})
	}
}

// TestReadLimitedStopsEarly proves that an endless body is not read to its
// end: at most limit+1 bytes are consumed.
func TestReadLimitedStopsEarly(t *testing.T) {
	r := &countingReader{}
	if _, err := ReadLimited(r, 1000); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if r.n > 1001 {
		t.Fatalf("read %d bytes", r.n)
	}
}

type countingReader struct{ n int }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	r.n += len(p)
	return len(p), nil
}

func TestNewClient(t *testing.T) {
	c := NewClient()
	if c.Timeout <= 0 {
		t.Fatal("no overall timeout")
	}
	tr, ok := c.Transport.(*http.Transport)
	if !ok || tr.TLSHandshakeTimeout <= 0 || tr.ResponseHeaderTimeout <= 0 || tr.DialContext == nil {
		t.Fatalf("transport without timeouts: %#v", c.Transport)
	}
	if tr == http.DefaultTransport {
		t.Fatal("shares http.DefaultTransport")
	}
	tr.CloseIdleConnections()
}

// TestNewClientReusesConnectionsUnderConcurrency: a burst of as many
// concurrent requests as introspection allows in flight, then another, must
// reuse the first burst's connections instead of opening (and, over TLS,
// handshaking) new ones.
func TestNewClientReusesConnectionsUnderConcurrency(t *testing.T) {
	var conns atomic.Int32
	release := make(chan struct{})
	var arrived sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-release
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := NewClient()
	defer c.CloseIdleConnections()
	burst := func() {
		var done sync.WaitGroup
		arrived.Add(DefaultMaxIdleConnsPerHost)
		for range DefaultMaxIdleConnsPerHost {
			done.Go(func() {
				resp, err := c.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		arrived.Wait() // every request is in flight at once
		for range DefaultMaxIdleConnsPerHost {
			release <- struct{}{}
		}
		done.Wait()
	}
	burst()
	first := conns.Load()
	burst()
	if n := conns.Load() - first; n != 0 {
		t.Fatalf("the second burst opened %d new connections (first opened %d); want all reused", n, first)
	}
}
