#!/usr/bin/env bash
# Runs every fuzz target of every module for the given time (default 15s).
# A target is any `func FuzzXxx(f *testing.F)` in a _test.go file.
set -euo pipefail
fuzztime="${1:-15s}"
cd "$(dirname "$0")/.."
found=0
for dir in $(go list -m -f '{{.Dir}}'); do
	while IFS= read -r file; do
		pkgdir=$(dirname "$file")
		for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
			found=$((found + 1))
			echo "== fuzz $target in ${pkgdir#"$PWD"/} for $fuzztime"
			(cd "$pkgdir" && go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" .)
		done
	done < <(cd "$dir" && find "$PWD" -name '*_test.go' -not -path '*/testdata/*' -not -path '*/node_modules/*' | sort)
done
echo "fuzz: $found targets ran for $fuzztime each"
