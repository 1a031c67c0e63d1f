package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
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
