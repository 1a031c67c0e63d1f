package netpolicy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		chunked bool // no Content-Length: the limit is found while reading
		limit   int64
		ok      bool
		tooBig  bool // the error is ErrBodyTooLarge
	}{
		{"200", 200, "abcd", false, 4, true, false},
		{"200 chunked", 200, "abcd", true, 4, true, false},
		{"announced past the limit", 200, "abcde", false, 4, false, true},
		{"sent past the limit", 200, "abcde", true, 4, false, true},
		{"404", 404, "abcd", false, 4, false, false},
		{"500 with a long body", 500, strings.Repeat("x", 1<<20), true, 4, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got http.Header
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Header.Clone()
				w.Header().Set("X-Answer", "yes")
				if tc.chunked {
					w.WriteHeader(tc.status)
					_, _ = io.WriteString(w, tc.body[:1])
					http.NewResponseController(w).Flush()
					_, _ = io.WriteString(w, tc.body[1:])
					return
				}
				w.Header().Set("Content-Length", fmt.Sprint(len(tc.body)))
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			u := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1) + "/doc"
			a, err := Get(context.Background(), srv.Client(), u, http.Header{"Accept": {"application/json"}}, tc.limit)
			if got.Get("Accept") != "application/json" {
				t.Errorf("Accept = %q", got.Get("Accept"))
			}
			if a.Status != tc.status || a.Header.Get("X-Answer") != "yes" {
				t.Errorf("Answer = %d %v; want the status and headers", a.Status, a.Header)
			}
			if tc.ok {
				if err != nil || string(a.Body) != tc.body {
					t.Fatalf("Get = %q, %v", a.Body, err)
				}
				return
			}
			if err == nil || a.Body != nil {
				t.Fatalf("Get = %q, %v; want a failure", a.Body, err)
			}
			if errors.Is(err, ErrBodyTooLarge) != tc.tooBig {
				t.Errorf("errors.Is(%v, ErrBodyTooLarge) != %v", err, tc.tooBig)
			}
			if !tc.tooBig && !strings.Contains(err.Error(), fmt.Sprint(tc.status)) {
				t.Errorf("err = %v; want it to name the status", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("err = %v quotes the password", err)
			}
		})
	}
}

func TestGetFailsWithoutAnswer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1)
	srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		url  string
	}{
		{"refused", context.Background(), u},
		{"cancelled", ctx, u},
		{"unparsable URL", context.Background(), "http://user:hunter2@as.example/%zz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Get(tc.ctx, http.DefaultClient, tc.url, nil, 10)
			if err == nil || a.Status != 0 || a.Header != nil {
				t.Fatalf("Get = %+v, %v; want a failure without an answer", a, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("err = %v quotes the password", err)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	for raw, want := range map[string]string{
		"https://u:hunter2@as.example/x": "https://u:xxxxx@as.example/x",
		"https://as.example/x":           "https://as.example/x",
		"https://u:hunter2@as/%zz":       "invalid URL",
		"u:hunter2@as.example/x":         "u:xxxxx",
	} {
		if got := Redacted(raw); got != want {
			t.Errorf("Redacted(%q) = %q, want %q", raw, got, want)
		}
	}
}
