package main

import (
	"bufio"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// key names one benchmark at one GOMAXPROCS.
type key struct {
	name  string // without the "Benchmark" prefix and the -procs suffix
	procs int
}

// results holds every measurement: benchmark -> round -> unit -> value.
type results struct {
	m   map[key]map[int]map[string]float64
	cpu string // the "cpu:" line of go test, if any
}

func newResults() *results { return &results{m: map[key]map[int]map[string]float64{}} }

var procsSuffix = regexp.MustCompile(`^(.*)-(\d+)$`)

// parseLine parses one result line of `go test -bench`:
//
//	BenchmarkJWT/RS256/floor-2   1000   47123 ns/op   12.5 x-unit   0 B/op   0 allocs/op
//
// A name without a -N suffix ran with GOMAXPROCS 1.
func parseLine(line string) (k key, metrics map[string]float64, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
		return key{}, nil, false
	}
	if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
		return key{}, nil, false
	}
	name, procs := strings.TrimPrefix(fields[0], "Benchmark"), 1
	if m := procsSuffix.FindStringSubmatch(name); m != nil {
		name = m[1]
		procs, _ = strconv.Atoi(m[2])
	}
	metrics = map[string]float64{}
	for i := 2; i+1 < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return key{}, nil, false
		}
		metrics[fields[i+1]] = v
	}
	return key{name, procs}, metrics, true
}

// add reads go test output of one round and records its results; it
// returns the lines worth keeping as raw output.
func (r *results) add(round int, out io.Reader) []string {
	var kept []string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if cpu, found := strings.CutPrefix(line, "cpu: "); found {
			r.cpu = cpu
		}
		k, metrics, ok := parseLine(line)
		if !ok {
			continue
		}
		kept = append(kept, line)
		if r.m[k] == nil {
			r.m[k] = map[int]map[string]float64{}
		}
		r.m[k][round] = metrics
	}
	return kept
}

// has reports whether the benchmark ran at least once.
func (r *results) has(k key) bool { return len(r.m[k]) > 0 }

// median returns the median of unit over the rounds.
func (r *results) median(k key, unit string) (float64, bool) {
	var vs []float64
	for _, m := range r.m[k] {
		if v, ok := m[unit]; ok {
			vs = append(vs, v)
		}
	}
	return median(vs)
}

// ratio returns the median over the rounds of a's unit divided by b's unit
// measured in the same round: the drift of a shared machine between rounds
// cancels out.
func (r *results) ratio(a, b key, unit string) (float64, bool) {
	var vs []float64
	for round, ma := range r.m[a] {
		mb, ok := r.m[b][round]
		if !ok {
			continue
		}
		va, okA := ma[unit]
		vb, okB := mb[unit]
		if okA && okB && vb != 0 {
			vs = append(vs, va/vb)
		}
	}
	return median(vs)
}

// ratioToMin returns the median over the rounds of (the smallest unit among
// others in that round) divided by a's unit; and which of others was the
// smallest most often.
func (r *results) ratioToMin(a key, others []key, unit string) (float64, key, bool) {
	var vs []float64
	wins := map[key]int{}
	for round, ma := range r.m[a] {
		va, ok := ma[unit]
		if !ok || va == 0 {
			continue
		}
		best, bestKey, found := math.Inf(1), key{}, false
		for _, o := range others {
			if v, ok := r.m[o][round][unit]; ok && v < best {
				best, bestKey, found = v, o, true
			}
		}
		if found {
			vs = append(vs, best/va)
			wins[bestKey]++
		}
	}
	var winner key
	for k, n := range wins {
		if n > wins[winner] || (n == wins[winner] && k.name < winner.name) {
			winner = k
		}
	}
	m, ok := median(vs)
	return m, winner, ok
}

// spread returns the smallest and largest value of unit over the rounds.
func (r *results) spread(k key, unit string) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, m := range r.m[k] {
		if v, found := m[unit]; found {
			lo, hi, ok = min(lo, v), max(hi, v), true
		}
	}
	return lo, hi, ok
}

func median(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	vs = slices.Clone(vs)
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2], true
	}
	return (vs[n/2-1] + vs[n/2]) / 2, true
}
