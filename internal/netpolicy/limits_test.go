package netpolicy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// rawHeaders answers every request with exactly size bytes of status line
// and headers, and an empty body.
func rawHeaders(t *testing.T, size int) *httptest.Server {
	t.Helper()
	const prefix = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\nX-Pad: "
	const suffix = "\r\n\r\n"
	answer := prefix + strings.Repeat("a", size-len(prefix)-len(suffix)) + suffix
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString(answer)
		_ = buf.Flush()
	}))
}

// TestNewClientResponseHeaderLimit: NewClient reads answers whose headers
// fit in DefaultMaxResponseHeaderBytes and refuses larger ones, where
// net/http's default would read up to 10 MiB.
func TestNewClientResponseHeaderLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		ok   bool
	}{
		{"at the limit", DefaultMaxResponseHeaderBytes, true},
		{"one byte past", DefaultMaxResponseHeaderBytes + 1, false},
		{"1 MiB", 1 << 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := rawHeaders(t, tc.size)
			defer srv.Close()
			c := NewClient()
			defer c.CloseIdleConnections()
			resp, err := c.Get(srv.URL)
			if err == nil {
				resp.Body.Close()
			}
			if tc.ok != (err == nil) {
				t.Fatalf("Get = %v; want success: %v", err, tc.ok)
			}
			if !tc.ok && !strings.Contains(err.Error(), fmt.Sprint(DefaultMaxResponseHeaderBytes)) {
				t.Fatalf("err = %v, want the header limit", err)
			}
		})
	}
}
