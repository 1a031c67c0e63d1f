#!/usr/bin/env bash
# Runs every fuzz target of every module for the given time (default 15s).
# A target is any `func FuzzXxx(f *testing.F)` in a _test.go file of a
# package of that module (go list, so a nested module's packages are fuzzed
# once, by their own module).
#
# Minimizing a new input is capped at FUZZMINIMIZETIME (default 3s): go
# test's default of 60s per input let FuzzParseSet, whose seeds are JWK Sets
# of several KiB, spend a whole short run minimizing (217 executions in 15s
# instead of ~50,000).
set -euo pipefail
fuzztime="${1:-15s}"
minimize="${FUZZMINIMIZETIME:-3s}"
cd "$(dirname "$0")/.."
found=0
mods=$(./scripts/modules.sh)
for mod in $mods; do
	for pkgdir in $(cd "$mod" && go list -f '{{.Dir}}' ./...); do
		for target in $(cat "$pkgdir"/*_test.go 2>/dev/null | sed -nE 's/^func (Fuzz[A-Za-z0-9_]+)\(.*/\1/p'); do
			found=$((found + 1))
			echo "== fuzz $target in ${pkgdir#"$PWD"/} for $fuzztime"
			(cd "$pkgdir" && go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimize" .)
		done
	done
done
echo "fuzz: $found targets ran for $fuzztime each"
