#!/usr/bin/env bash
# The one command behind BENCHMARKS.md: builds the bench module's test binary,
# runs every benchmark in interleaved rounds (JWT contenders, parallel scaling,
# introspection) and rewrites the generated tables of ../BENCHMARKS.md; the raw
# go test lines go to bench/results/raw.txt. Extra flags go to
# cmd/benchtable (for example -rounds 13 -benchtime 1s, or -out - to print).
# About 10 minutes with the defaults on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")"
exec go run ./cmd/benchtable -out ../BENCHMARKS.md -raw results/raw.txt "$@"
