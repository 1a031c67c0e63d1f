// Package bench measures tollgate against the cost of bare signature
// verification (the floor) and against the other Go JWT validators, with the
// same keys and tokens for every contender.
//
// [Contenders] lists everything measured; a [Fixture] holds one algorithm's
// authorization server, keys and tokens. The benchmarks live in the test
// files: BenchmarkJWT (one validation of a repeated token), BenchmarkParallel
// (the cached paths under b.RunParallel) and BenchmarkIntrospect (opaque
// tokens against an authorization server with a fixed delay). Plain
// `go test` runs only TestAgreement, which proves that every contender
// accepts the valid token and refuses the defective ones, so that the
// comparison is between validators that do the same job.
//
// The command cmd/benchtable builds the test binary, runs the benchmarks in
// interleaved rounds, takes medians and writes the tables of BENCHMARKS.md
// at the repository root; bench/run.sh is the one command that does it.
package bench
