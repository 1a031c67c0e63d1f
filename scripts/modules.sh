#!/usr/bin/env bash
# Prints the directory of every module of the workspace, one per line, and
# fails unless they are exactly the modules of the repository (every go.mod
# outside node_modules and testdata). `for dir in $(go list -m ...)` alone
# would run zero modules when go list fails (bash ignores the status of a
# command substitution in a for list) and only the root module with
# GOWORK=off: CI would pass without running the nested modules' tests.
set -euo pipefail
cd "$(dirname "$0")/.."
listed=$(go list -m -f '{{.Dir}}')
want=$(find . -name go.mod -not -path '*/node_modules/*' -not -path '*/testdata/*' -printf '%h\n' |
	sed "s|^\.|$PWD|" | sort)
if [ "$(sort <<<"$listed")" != "$want" ]; then
	echo "modules.sh: go list -m does not list every module of the repository (is go.work in use?)" >&2
	echo "listed:" >&2
	echo "$listed" >&2
	echo "on disk:" >&2
	echo "$want" >&2
	exit 1
fi
echo "$listed"
