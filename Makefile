# tollgate's build. `make test` is the README's test command: every module's
# tests with the race detector, then the interop suite against a real
# authorization server. CI (.ci/run) adds a short fuzz pass, go vet, one run
# of every benchmark (bench-smoke) and gofmt.

SHELL := /bin/bash
GO ?= go
FUZZTIME ?= 15s

.PHONY: test unit interop fuzz vet fmt-check bench-smoke ci bench

test: unit interop

# Every module of the workspace, one after the other; the first failure stops.
unit:
	set -euo pipefail; dirs=$$(./scripts/modules.sh); for dir in $$dirs; do \
		echo "== go test -race $$dir"; \
		(cd "$$dir" && $(GO) test -race -count=1 ./...); \
	done

interop:
	./scripts/interop.sh

# Runs each fuzz target for FUZZTIME.
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

vet:
	set -euo pipefail; dirs=$$(./scripts/modules.sh); for dir in $$dirs; do \
		echo "== go vet $$dir"; \
		(cd "$$dir" && $(GO) vet ./...); \
	done

# Runs every benchmark of every module once, so that a benchmark that no
# longer runs (a config that New now refuses) fails CI instead of the next
# measurement. Measures nothing.
bench-smoke:
	set -euo pipefail; dirs=$$(./scripts/modules.sh); for dir in $$dirs; do \
		echo "== go test -bench . -benchtime=1x $$dir"; \
		(cd "$$dir" && $(GO) test -run '^$$' -bench . -benchtime=1x ./...); \
	done

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

ci: test fuzz vet bench-smoke fmt-check

# Runs every benchmark of bench/ against the peers and rewrites the tables of
# BENCHMARKS.md (about 10 minutes on 2 cores). Not part of CI.
bench:
	./bench/run.sh
