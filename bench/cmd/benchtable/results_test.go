package main

import (
	"go.uber.org/goleak"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseLine(t *testing.T) {
	tests := []struct {
		line    string
		ok      bool
		name    string
		procs   int
		metrics map[string]float64
	}{
		{"BenchmarkJWT/RS256/floor \t 1000\t 47123 ns/op\t 661.0 token-bytes\t 0 B/op\t 0 allocs/op", true, "JWT/RS256/floor", 1,
			map[string]float64{"ns/op": 47123, "token-bytes": 661, "B/op": 0, "allocs/op": 0}},
		{"BenchmarkParallel/ES256/tollgate-cached-2   	 5000	 250.5 ns/op	 0 B/op	 0 allocs/op", true, "Parallel/ES256/tollgate-cached", 2,
			map[string]float64{"ns/op": 250.5, "B/op": 0, "allocs/op": 0}},
		{"BenchmarkIntrospect/naive/same/c=1024-16  1024  328019 ns/op  1.000 as-calls/op  5493 p50-ns", true, "Introspect/naive/same/c=1024", 16,
			map[string]float64{"ns/op": 328019, "as-calls/op": 1, "p50-ns": 5493}},
		{"cpu: AMD EPYC", false, "", 0, nil},
		{"BenchmarkJWT/RS256/floor", false, "", 0, nil}, // chatty name line without results
		{"BenchmarkJWT/RS256/floor --- FAIL: valid token refused", false, "", 0, nil},
		{"PASS", false, "", 0, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Fields(tt.line)[0], func(t *testing.T) {
			k, m, ok := parseLine(tt.line)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if k.name != tt.name || k.procs != tt.procs {
				t.Errorf("key = %+v, want %s at %d", k, tt.name, tt.procs)
			}
			if len(m) != len(tt.metrics) {
				t.Errorf("metrics = %v, want %v", m, tt.metrics)
			}
			for unit, v := range tt.metrics {
				if m[unit] != v {
					t.Errorf("%s = %v, want %v", unit, m[unit], v)
				}
			}
		})
	}
}

// TestRatioWithinRounds proves that ratios are taken round by round: a
// machine twice as slow in one round leaves the ratio unchanged.
func TestRatioWithinRounds(t *testing.T) {
	r := newResults()
	r.add(0, strings.NewReader("BenchmarkJWT/RS256/floor 1 100 ns/op\nBenchmarkJWT/RS256/x 1 120 ns/op\n"))
	r.add(1, strings.NewReader("BenchmarkJWT/RS256/floor 1 200 ns/op\nBenchmarkJWT/RS256/x 1 240 ns/op\n"))
	r.add(2, strings.NewReader("BenchmarkJWT/RS256/floor 1 100 ns/op\nBenchmarkJWT/RS256/x 1 120 ns/op\n"))
	got, ok := r.ratio(key{"JWT/RS256/x", 1}, key{"JWT/RS256/floor", 1}, "ns/op")
	if !ok || got < 1.1999 || got > 1.2001 {
		t.Errorf("ratio = %v, %v; want 1.2", got, ok)
	}
	if m, _ := r.median(key{"JWT/RS256/x", 1}, "ns/op"); m != 120 {
		t.Errorf("median = %v, want 120", m)
	}
	best, winner, ok := r.ratioToMin(key{"JWT/RS256/floor", 1}, []key{{"JWT/RS256/x", 1}}, "ns/op")
	if !ok || winner.name != "JWT/RS256/x" || best < 1.1999 || best > 1.2001 {
		t.Errorf("ratioToMin = %v %v %v", best, winner, ok)
	}
}

func TestFmtInt(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999.4: "999", 1000: "1,000", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := fmtInt(v); got != want {
			t.Errorf("fmtInt(%v) = %q, want %q", v, got, want)
		}
	}
}
