package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate/tollgate/oauthtest"
)

// fixtures holds one Fixture per algorithm for the whole test binary, so that
// every contender, in every benchmark round, sees the same keys and tokens.
var fixtures = map[string]*Fixture{}

func TestMain(m *testing.M) {
	for _, alg := range Algorithms() {
		f, err := NewFixture(alg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "fixture %s: %v\n", alg, err)
			os.Exit(1)
		}
		fixtures[alg] = f
	}
	code := m.Run()
	for _, f := range fixtures {
		f.Close()
	}
	// The contenders, peers included, must stop what they start once closed.
	if err := goleak.Find(); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, "goroutines left running:", err)
		code = 1
	}
	os.Exit(code)
}

// setup configures c for f and registers its Close with tb.
func setup(tb testing.TB, c Contender, f *Fixture) *Instance {
	tb.Helper()
	inst, err := c.Setup(f)
	if err != nil {
		tb.Fatalf("%s %s: setup: %v", c.Name, f.Alg, err)
	}
	if inst.Close != nil {
		tb.Cleanup(inst.Close)
	}
	return inst
}

// TestAgreement makes the comparison fair: every validating contender accepts
// the valid token and refuses each defective one, except the defects it
// declares in Accepts (which BENCHMARKS.md reports). The floor checks only
// the signature, so it must refuse exactly the tokens whose signature does
// not match, and accept the others.
func TestAgreement(t *testing.T) {
	ctx := context.Background()
	signatureDefects := []string{"signature altered", "payload altered", "foreign key"}
	for _, alg := range Algorithms() {
		f := fixtures[alg]
		for _, c := range Contenders() {
			if c.Kind == Baseline {
				continue // validates nothing by design
			}
			t.Run(alg+"/"+c.Name, func(t *testing.T) {
				inst := setup(t, c, f)
				if err := inst.Prepare(f.Valid)(ctx); err != nil {
					t.Fatalf("valid token refused: %v", err)
				}
				for _, bad := range f.Bad {
					accept := slices.Contains(c.Accepts, bad.Defect)
					if c.Kind == Floor {
						accept = !slices.Contains(signatureDefects, bad.Defect)
					}
					err := inst.Prepare(bad.Token)(ctx)
					switch {
					case accept && err != nil:
						t.Errorf("%s: refused (%v), but the contender declares that it accepts it", bad.Defect, err)
					case !accept && err == nil:
						t.Errorf("%s: accepted", bad.Defect)
					}
				}
				// The valid token again: a rejection above must not have
				// poisoned anything (a cache, a key set).
				if err := inst.Prepare(f.Valid)(ctx); err != nil {
					t.Fatalf("valid token refused after the defective ones: %v", err)
				}
			})
		}
	}
}

// BenchmarkJWT times one validation of the valid token, repeated, for every
// contender and algorithm. Run it with -cpu 1.
func BenchmarkJWT(b *testing.B) {
	ctx := context.Background()
	for _, alg := range Algorithms() {
		f := fixtures[alg]
		for _, c := range Contenders() {
			b.Run(alg+"/"+c.Name, func(b *testing.B) {
				inst := setup(b, c, f)
				check := inst.Prepare(f.Valid)
				if err := check(ctx); err != nil {
					b.Fatalf("valid token refused: %v", err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := check(ctx); err != nil {
						b.Fatal(err)
					}
				}
				if c.Name == NameFloor {
					b.ReportMetric(float64(len(f.Valid)), "token-bytes")
				}
			})
		}
	}
}

// BenchmarkParallel times the contenders marked Parallel under
// b.RunParallel; run it with -cpu 1,2 (and more where the cores exist) to
// see how the cached path scales. The floor is there as the reference of
// what the machine gives to pure computation at that moment.
func BenchmarkParallel(b *testing.B) {
	ctx := context.Background()
	for _, alg := range Algorithms() {
		f := fixtures[alg]
		for _, c := range Contenders() {
			if !c.Parallel {
				continue
			}
			b.Run(alg+"/"+c.Name, func(b *testing.B) {
				inst := setup(b, c, f)
				check := inst.Prepare(f.Valid)
				if err := check(ctx); err != nil {
					b.Fatalf("valid token refused: %v", err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := check(ctx); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// TestIntrospectionAgreement holds every introspector to accept the active
// tokens and refuse an unknown and a revoked one.
func TestIntrospectionAgreement(t *testing.T) {
	ctx := context.Background()
	f := NewIntrospectionFixture(0)
	defer f.Close()
	for _, in := range Introspectors() {
		t.Run(in.Name, func(t *testing.T) {
			validate, closeFn, err := in.Setup(f)
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()
			for _, tok := range []string{f.Shared, f.Distinct[0], f.Distinct[len(f.Distinct)-1]} {
				if err := validate(ctx, tok); err != nil {
					t.Errorf("active token refused: %v", err)
				}
			}
			for name, tok := range map[string]string{"unknown": f.Unknown, "revoked": f.Revoked} {
				if err := validate(ctx, tok); err == nil {
					t.Errorf("%s token accepted", name)
				}
			}
		})
	}
}

// BenchmarkIntrospect runs IntrospectionRequests requests, spread over 1, 64
// and 1,024 concurrent callers, against an AS that answers after
// IntrospectionDelay; run it with -benchtime=1024x. "same": every request
// presents one token; "distinct": every request its own token. Each run
// starts cold (a new client and cache). It reports the AS calls per request
// and the median and 99th percentile latency of a request; ns/op is the wall
// time divided by the requests.
func BenchmarkIntrospect(b *testing.B) {
	ctx := context.Background()
	f := NewIntrospectionFixture(IntrospectionDelay)
	defer f.Close()
	for _, in := range Introspectors() {
		for _, mode := range []string{"same", "distinct"} {
			for _, callers := range []int{1, 64, 1024} {
				b.Run(fmt.Sprintf("%s/%s/c=%d", in.Name, mode, callers), func(b *testing.B) {
					tokens := f.Distinct
					if mode == "same" {
						tokens = []string{f.Shared}
					}
					benchmarkIntrospection(ctx, b, f, in, tokens, callers)
				})
			}
		}
	}
}

func benchmarkIntrospection(ctx context.Context, b *testing.B, f *IntrospectionFixture, in Introspector, tokens []string, callers int) {
	validate, closeFn, err := in.Setup(f)
	if err != nil {
		b.Fatal(err)
	}
	defer closeFn()
	n := b.N
	latency := make([]time.Duration, n)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				if validate(ctx, tokens[i%len(tokens)]) != nil {
					failed.Add(1)
				}
				latency[i] = time.Since(t0)
			}
		}()
	}
	before := f.AS.Requests(oauthtest.EndpointIntrospection)
	b.ResetTimer()
	close(start)
	wg.Wait()
	b.StopTimer()
	calls := f.AS.Requests(oauthtest.EndpointIntrospection) - before
	if k := failed.Load(); k > 0 {
		b.Fatalf("%d of %d requests refused or failed", k, n)
	}
	slices.Sort(latency)
	b.ReportMetric(float64(calls)/float64(n), "as-calls/op")
	b.ReportMetric(float64(latency[n/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(latency[(n*99)/100].Nanoseconds()), "p99-ns")
}
