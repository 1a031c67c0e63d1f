// Package rawhttp is a test server for hostile-peer tests: it answers HTTP
// requests by writing bytes over in-memory pipes, so that a test can make it
// trickle, stall or flood inside a synctest bubble (a goroutine blocked on a
// pipe is durably blocked; one on a socket is not). It is used by the tests
// of jwks and introspect only.
package rawhttp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Server answers each connection's one request with Serve, which writes the
// raw response to w. Its connections are closed when the test ends.
type Server struct {
	serve   func(w net.Conn, r *http.Request)
	written atomic.Int64
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
	client  *http.Client
}

// New returns a server whose connections are answered by serve (after the
// request body was read), to be called inside a bubble when the test uses
// one. It is closed when the test ends.
func New(t testing.TB, serve func(w net.Conn, r *http.Request)) *Server {
	t.Helper()
	rs := &Server{serve: serve}
	tr := &http.Transport{DialContext: rs.dial}
	rs.client = &http.Client{Transport: tr}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		rs.mu.Lock()
		for _, c := range rs.conns {
			c.Close()
		}
		rs.mu.Unlock()
		rs.wg.Wait()
	})
	return rs
}

// Client returns an HTTP client whose every dial reaches the server,
// whatever the URL's host.
func (rs *Server) Client() *http.Client { return rs.client }

// Written returns the number of bytes the client read of what the server
// wrote: how much of a flood got in.
func (rs *Server) Written() int64 { return rs.written.Load() }

func (rs *Server) dial(context.Context, string, string) (net.Conn, error) {
	client, server := net.Pipe()
	rs.mu.Lock()
	rs.conns = append(rs.conns, server)
	rs.mu.Unlock()
	rs.wg.Add(1)
	go func() {
		defer rs.wg.Done()
		defer server.Close()
		r, err := http.ReadRequest(bufio.NewReader(server))
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		rs.serve(countingConn{server, &rs.written}, r)
	}()
	return client, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// WriteSlowly writes s in pieces of size bytes, sleeping d before each, and
// gives up when the client has gone.
func WriteSlowly(w net.Conn, s string, size int, d time.Duration) {
	for len(s) > 0 {
		time.Sleep(d)
		n := min(size, len(s))
		if _, err := w.Write([]byte(s[:n])); err != nil {
			return
		}
		s = s[n:]
	}
}

// InPieces writes s in n pieces (s must have at least n bytes), sleeping d
// before each: the last byte leaves n*d after the first sleep began.
func InPieces(w net.Conn, s string, n int, d time.Duration) {
	for i := range n {
		time.Sleep(d)
		if _, err := w.Write([]byte(s[i*len(s)/n : (i+1)*len(s)/n])); err != nil {
			return
		}
	}
}

// Flood writes prefix, then filler until the client goes away or limit
// bytes were written.
func Flood(w net.Conn, prefix string, limit int) {
	if _, err := w.Write([]byte(prefix)); err != nil {
		return
	}
	chunk := []byte(strings.Repeat(" ", 32<<10))
	for n := len(prefix); n < limit; n += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// Head returns a JSON response's status line and headers, with a
// Content-Length unless contentLength is negative.
func Head(status int, contentLength int) string {
	h := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nConnection: close\r\n", status, http.StatusText(status))
	if contentLength >= 0 {
		h += fmt.Sprintf("Content-Length: %d\r\n", contentLength)
	}
	return h + "\r\n"
}

// SlowAnswer is a way to send a 200 answer with body: promptly, trickled,
// stalled. OK says whether a client with the given timeout must get it.
type SlowAnswer struct {
	Name  string
	Serve func(w net.Conn, body string)
	OK    bool
}

// SlowAnswers returns the answers a client with timeout must survive: two
// twins that arrive within the timeout, and the trickles and stalls that
// must make it give up when the timeout ends, not later.
func SlowAnswers(timeout time.Duration) []SlowAnswer {
	return []SlowAnswer{
		{"prompt (twin)", func(w net.Conn, body string) {
			_, _ = w.Write([]byte(Head(200, len(body)) + body))
		}, true},
		{"body trickled within the timeout (twin)", func(w net.Conn, body string) {
			_, _ = w.Write([]byte(Head(200, len(body))))
			InPieces(w, body, 10, (timeout-time.Millisecond)/10)
		}, true},
		{"headers trickled", func(w net.Conn, body string) {
			WriteSlowly(w, Head(200, len(body))+body, 1, time.Second)
		}, false},
		{"body trickled a byte a second", func(w net.Conn, body string) {
			_, _ = w.Write([]byte(Head(200, len(body))))
			WriteSlowly(w, body, 1, time.Second)
		}, false},
		{"body trickled just past the timeout", func(w net.Conn, body string) {
			_, _ = w.Write([]byte(Head(200, len(body))))
			InPieces(w, body, 10, (timeout+time.Millisecond)/10)
		}, false},
		{"stalls after the headers", func(w net.Conn, body string) {
			_, _ = w.Write([]byte(Head(200, len(body))))
			WriteSlowly(w, body, len(body), time.Hour)
		}, false},
		{"stalls half way through the body", func(w net.Conn, body string) {
			_, _ = w.Write([]byte(Head(200, len(body)) + body[:len(body)/2]))
			WriteSlowly(w, body[len(body)/2:], len(body), time.Hour)
		}, false},
		{"chunked, a chunk a second", func(w net.Conn, body string) {
			h := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
			var chunks strings.Builder
			for _, c := range body {
				fmt.Fprintf(&chunks, "1\r\n%c\r\n", c)
			}
			_, _ = w.Write([]byte(h))
			WriteSlowly(w, chunks.String()+"0\r\n\r\n", 6, time.Second)
		}, false},
	}
}
