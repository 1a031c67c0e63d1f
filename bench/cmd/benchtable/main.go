// Command benchtable runs the benchmarks of the bench module in interleaved
// rounds and writes their medians as Markdown tables into BENCHMARKS.md.
//
// It builds the test binary once, then runs it -rounds times; each round
// runs every contender once (BenchmarkJWT at GOMAXPROCS 1, BenchmarkParallel
// at 1, 2, 4... up to the machine's CPUs), so that a slow moment of a shared
// machine hits all contenders alike. Each ratio is taken within a round
// (contender and floor measured minutes apart would compare the machine's
// moods), then the median over the rounds is reported. The introspection
// scenarios run -introspect-rounds times with -benchtime=1024x.
//
// Usage (from the bench directory; bench/run.sh does this):
//
//	go run ./cmd/benchtable [-rounds 10] [-benchtime 500ms] [-out ../BENCHMARKS.md]
//
// The tables replace what lies between the lines "<!-- benchtable:begin -->"
// and "<!-- benchtable:end -->" of the -out file; the raw go test lines of
// every round go to -raw, in the format benchstat reads.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/bench"
)

const (
	beginMarker = "<!-- benchtable:begin -->"
	endMarker   = "<!-- benchtable:end -->"
)

func main() {
	rounds := flag.Int("rounds", 10, "interleaved rounds of the JWT and parallel benchmarks")
	introspectRounds := flag.Int("introspect-rounds", 5, "rounds of the introspection scenarios (0 skips them)")
	benchtime := flag.String("benchtime", "500ms", "go test -benchtime of the JWT and parallel benchmarks")
	out := flag.String("out", "../BENCHMARKS.md", "Markdown file whose generated section is replaced; \"-\" prints to stdout")
	raw := flag.String("raw", "results/raw.txt", "file for the raw go test lines of every round (empty: none)")
	note := flag.String("note", "", "a word on the machine, printed with the results (e.g. \"shared with other jobs\")")
	flag.Parse()
	if err := run(*rounds, *introspectRounds, *benchtime, *out, *raw, *note); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(rounds, introspectRounds int, benchtime, out, raw, note string) error {
	if rounds < 1 {
		return errors.New("-rounds must be at least 1")
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "benchtable")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bench.test")
	logf("building the test binary")
	if err := command(ctx, os.Stderr, "go", "test", "-c", "-o", bin, ".").Run(); err != nil {
		return fmt.Errorf("go test -c: %w", err)
	}

	numCPU := runtime.NumCPU()
	var cpus []string
	for _, n := range scalingCPUs {
		if n <= numCPU {
			cpus = append(cpus, strconv.Itoa(n))
		}
	}
	res := newResults()
	var rawLines []string
	for i := range max(rounds, introspectRounds) {
		var runs [][]string
		if i < rounds {
			runs = append(runs,
				[]string{"-test.bench=^BenchmarkJWT$", "-test.benchtime=" + benchtime, "-test.cpu=1"},
				[]string{"-test.bench=^BenchmarkParallel$", "-test.benchtime=" + benchtime, "-test.cpu=" + strings.Join(cpus, ",")},
			)
		}
		if i < introspectRounds {
			runs = append(runs, []string{"-test.bench=^BenchmarkIntrospect$", fmt.Sprintf("-test.benchtime=%dx", bench.IntrospectionRequests), "-test.cpu=" + strconv.Itoa(numCPU)})
		}
		for _, args := range runs {
			logf("round %d/%d: %s", i+1, max(rounds, introspectRounds), strings.TrimPrefix(args[0], "-test.bench="))
			var buf bytes.Buffer
			cmd := command(ctx, &buf, bin, append([]string{"-test.run=^$", "-test.benchmem"}, args...)...)
			if err := cmd.Run(); err != nil {
				os.Stderr.Write(buf.Bytes())
				return fmt.Errorf("round %d: %w", i+1, err)
			}
			rawLines = append(rawLines, res.add(i, &buf)...)
		}
	}

	info := runInfo{
		date:             time.Now().UTC().Format("2006-01-02"),
		goVersion:        goVersion(ctx),
		goos:             runtime.GOOS,
		goarch:           runtime.GOARCH,
		cpu:              res.cpu,
		note:             note,
		numCPU:           numCPU,
		rounds:           rounds,
		introspectRounds: introspectRounds,
		benchtime:        benchtime,
	}
	tables := render(res, info)
	if raw != "" {
		if err := os.MkdirAll(filepath.Dir(raw), 0o755); err != nil {
			return err
		}
		header := fmt.Sprintf("goos: %s\ngoarch: %s\npkg: github.com/tollgate/tollgate/bench\ncpu: %s\n", info.goos, info.goarch, info.cpu)
		if err := os.WriteFile(raw, []byte(header+strings.Join(rawLines, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	if out == "-" {
		_, err := io.WriteString(os.Stdout, tables)
		return err
	}
	return replaceSection(out, tables)
}

// replaceSection puts tables between the markers of the file at path.
func replaceSection(path, tables string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(doc)
	i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q ... %q section to replace", path, beginMarker, endMarker)
	}
	s = s[:i+len(beginMarker)] + "\n" + tables + s[j:]
	logf("writing %s", path)
	return os.WriteFile(path, []byte(s), 0o644)
}

func command(ctx context.Context, stdout io.Writer, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = stdout, os.Stderr
	return cmd
}

func goVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchtable: "+format+"\n", args...)
}
