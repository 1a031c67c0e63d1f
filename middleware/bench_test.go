package middleware_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/middleware"
)

// BenchmarkMiddleware measures the middleware's own cost: the validator
// returns a prebuilt principal (what a cache hit costs the middleware) and
// the handler only writes a short body to an httptest recorder. "bare" is
// the same handler without the middleware, in the same run; the overhead is
// the difference.
func BenchmarkMiddleware(b *testing.B) {
	hit := tollgate.ValidatorFunc(func(context.Context, string) (*tollgate.Principal, error) { return alice, nil })
	trivial := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mw := func(cfg middleware.Config) *middleware.Middleware {
		m, err := middleware.New(hit, cfg)
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	disabledLog := tollgate.NewLogObserver(slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	cases := []struct {
		name string
		h    http.Handler
		req  *http.Request
	}{
		{"bare", trivial, nil},
		{"header", mw(middleware.Config{Realm: "api", ResourceMetadataURL: metaURL}).Handler(trivial), nil},
		{"header+log-observer-disabled", mw(middleware.Config{Observer: disabledLog}).Handler(trivial), nil},
		{"header+scope", mw(middleware.Config{}).Handler(middleware.RequireScopes("orders:read")(trivial)), nil},
		{"header+query-allowed", mw(middleware.Config{AllowQueryToken: true}).Handler(trivial),
			httptest.NewRequest("GET", "/orders?page=2&sort=asc", nil)},
		{"query-token", mw(middleware.Config{AllowQueryToken: true}).Handler(trivial),
			httptest.NewRequest("GET", "/orders?page=2&access_token="+goodTok, nil)},
	}
	for _, c := range cases {
		req := c.req
		if req == nil {
			req = httptest.NewRequest("GET", "/orders", nil)
		}
		if c.name != "query-token" {
			req.Header.Set("Authorization", "Bearer "+goodTok)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				c.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkMiddlewareOverhead interleaves the bare handler and the same
// handler behind the middleware in chunks, so that both see the same
// machine load, and reports each and their difference. On a shared machine
// this is steadier than comparing two sub-benchmarks run one after the
// other.
func BenchmarkMiddlewareOverhead(b *testing.B) {
	hit := tollgate.ValidatorFunc(func(context.Context, string) (*tollgate.Principal, error) { return alice, nil })
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mw, err := middleware.New(hit, middleware.Config{Realm: "api", ResourceMetadataURL: metaURL})
	if err != nil {
		b.Fatal(err)
	}
	wrapped := mw.Handler(bare)
	req := httptest.NewRequest("GET", "/orders", nil)
	req.Header.Set("Authorization", "Bearer "+goodTok)
	run := func(h http.Handler) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() { run(wrapped) }) - testing.AllocsPerRun(1000, func() { run(bare) })

	const chunk = 64
	var tBare, tMW time.Duration
	n := 0
	b.ResetTimer()
	for n < b.N {
		t0 := time.Now()
		for range chunk {
			run(bare)
		}
		t1 := time.Now()
		for range chunk {
			run(wrapped)
		}
		tBare += t1.Sub(t0)
		tMW += time.Since(t1)
		n += chunk
	}
	b.ReportMetric(float64(tBare.Nanoseconds())/float64(n), "bare-ns/op")
	b.ReportMetric(float64(tMW.Nanoseconds())/float64(n), "middleware-ns/op")
	b.ReportMetric(float64((tMW-tBare).Nanoseconds())/float64(n), "overhead-ns/op")
	b.ReportMetric(allocs, "overhead-allocs/op")
}
