#!/usr/bin/env bash
# Runs the interop suite: tollgate against a real authorization server
# (panva's oidc-provider, interop/server.mjs). Called by `make interop` and
# `make test`; extra arguments go to `go test` (e.g. -run TestJWT -v).
#
# Node.js >= 20.19 is required. A missing or older Node is a failure, never a
# skip: a suite that does not run proves nothing. (Debian's apt only offers
# Node 18; install Node from nodejs.org, nvm or NodeSource.)
set -euo pipefail
cd "$(dirname "$0")/../interop"

need="20.19"
node="${NODE:-node}"
if ! command -v "$node" >/dev/null 2>&1; then
	echo "interop: FAIL: Node.js >= $need is required, and '$node' is not on the PATH." >&2
	echo "interop: install Node.js (nodejs.org, nvm or NodeSource; Debian's apt only has 18) or set NODE." >&2
	exit 1
fi
version=$("$node" --version 2>/dev/null || true)
if ! [[ $version =~ ^v([0-9]+)\.([0-9]+)\. ]]; then
	echo "interop: FAIL: '$node --version' printed '$version', not a Node.js version." >&2
	exit 1
fi
major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
if ((major < 20 || (major == 20 && minor < 19))); then
	echo "interop: FAIL: Node.js >= $need is required (oidc-provider 9), found $version at $(command -v "$node")." >&2
	exit 1
fi

# npm ci, unless node_modules already holds exactly this lockfile for this
# Node major (npm ci always deletes and reinstalls, which needs the network or
# a warm cache).
stamp="node_modules/.tollgate-installed"
installed() { echo "node-$major"; cat package-lock.json; }
if ! cmp -s "$stamp" <(installed); then
	echo "interop: npm ci (Node.js $version)"
	npm ci --no-audit --no-fund --loglevel=error >/dev/null
	installed >"$stamp"
fi

export NODE="$node"
echo "interop: go vet and go test -race -tags interop ./interop/"
go vet -tags interop .
go test -race -count=1 -timeout=5m -tags interop "$@" .
