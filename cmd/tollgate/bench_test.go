package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/oauthtest"
)

// BenchmarkProxyOverhead measures what the proxy adds to a request with a
// cached token, side by side in one run: the same GET sent straight to the
// upstream (direct), through `tollgate proxy` (proxy), and the decision alone
// as a forward-auth check (forward-auth). Everything is on loopback, with
// keep-alive connections; the difference proxy - direct is the overhead.
//
//	go test -run '^$' -bench ProxyOverhead -benchmem -count 6 ./cmd/tollgate
func BenchmarkProxyOverhead(b *testing.B) {
	as := newAS(b)
	body := strings.Repeat("x", 256)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
	}))
	defer up.Close()
	quiet := func(y string) string { return strings.Replace(y, "level: debug", "level: warn", 1) }
	proxy := startServer(b, "proxy", quiet(proxyYAML(as.Issuer(), up.URL, "")))
	fa := startServer(b, "forward-auth", quiet(forwardAuthYAML(as.Issuer(), modeNginx, "")))
	token := as.JWT(oauthtest.TokenOptions{Subject: "alice", ClientID: "app-1", Scopes: []string{"orders:read"}})

	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
	}
	defer client.CloseIdleConnections()
	get := func(b *testing.B, url string, h http.Header) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header = h
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("%s: status %d", url, res.StatusCode)
		}
	}
	auth := http.Header{"Authorization": {"Bearer " + token}}
	faHeader := auth.Clone()
	faHeader.Set("X-Original-URI", "/orders")
	faHeader.Set("X-Original-Method", "GET")

	for _, bc := range []struct {
		name string
		url  string
		h    http.Header
	}{
		{"direct", up.URL + "/orders", auth},
		{"proxy", proxy.base() + "/orders", auth},
		{"forward-auth", fa.base() + "/auth", faHeader},
	} {
		b.Run(bc.name, func(b *testing.B) {
			get(b, bc.url, bc.h) // warm: connection, cached token
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				get(b, bc.url, bc.h)
			}
		})
	}

	// The same two calls interleaved in chunks, so that both see the same
	// load of a shared machine: steadier than the sub-benchmarks above.
	b.Run("interleaved", func(b *testing.B) {
		direct, proxied := up.URL+"/orders", proxy.base()+"/orders"
		get(b, direct, auth)
		get(b, proxied, auth)
		const chunk = 32
		var tDirect, tProxy time.Duration
		n := 0
		b.ResetTimer()
		for n < b.N {
			t0 := time.Now()
			for range chunk {
				get(b, direct, auth)
			}
			t1 := time.Now()
			for range chunk {
				get(b, proxied, auth)
			}
			tDirect += t1.Sub(t0)
			tProxy += time.Since(t1)
			n += chunk
		}
		b.ReportMetric(float64(tDirect.Nanoseconds())/float64(n), "direct-ns/op")
		b.ReportMetric(float64(tProxy.Nanoseconds())/float64(n), "proxy-ns/op")
		b.ReportMetric(float64((tProxy-tDirect).Nanoseconds())/float64(n), "overhead-ns/op")
	})
}

// BenchmarkDecide measures the in-process decision of the proxy, without
// sockets: normalization, rule, middleware with a cached token, scope check
// and the rewrite of the upstream request, against a recording upstream.
// jwt: issuers only; hybrid/jwt and hybrid/opaque: issuers and
// introspection (tollgate.NewHybrid routes each token), with a JWT of the
// issuer and an opaque token, both cached.
//
//	go test -run '^$' -bench Decide -benchmem -count 6 ./cmd/tollgate
func BenchmarkDecide(b *testing.B) {
	as := newAS(b)
	lookup := func(k string) (string, bool) {
		if k == "TOLLGATE_TEST_INTROSPECTION_SECRET" {
			return oauthtest.DefaultClientSecret, true
		}
		return "", false
	}
	jwt := as.JWT(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}})
	opaque := as.Opaque(oauthtest.TokenOptions{Subject: "alice", Scopes: []string{"orders:read"}})
	jwtOnly := proxyYAML(as.Issuer(), "http://127.0.0.1:1", "")
	hybrid := introspectionYAML(as, "http://127.0.0.1:1", "  client_secret: {env: TOLLGATE_TEST_INTROSPECTION_SECRET}", true)
	for _, bc := range []struct {
		name, yaml, token string
	}{
		{"jwt", jwtOnly, jwt},
		{"hybrid/jwt", hybrid, jwt},
		{"hybrid/opaque", hybrid, opaque},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg, err := loadConfig(writeConfig(b, bc.yaml), needServer|needProxy, lookup)
			if err != nil {
				b.Fatal(err)
			}
			m := newMetrics(func() bool { return true })
			a, err := newApp(cfg, newLogger(logConfig{Level: "warn"}, io.Discard), m.observer())
			if err != nil {
				b.Fatal(err)
			}
			defer a.close()
			p, err := newProxy(a, m)
			if err != nil {
				b.Fatal(err)
			}
			defer p.close()
			p.rp.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
			})
			req := httptest.NewRequest(http.MethodGet, "/orders", nil)
			req.Header.Set("Authorization", "Bearer "+bc.token)
			w := httptest.NewRecorder()
			p.ServeHTTP(w, req) // warm: keys, the cached answer
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w := httptest.NewRecorder()
				p.ServeHTTP(w, req)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
