# The two commands the README starts with: `make demo` and `make test`.
# Both install what they need first (scripts/install-deps.sh).
export GOTOOLCHAIN := local
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
SHARED ?= ../shared

.PHONY: deps build test lint demo bench fuzz

deps:
	bash scripts/install-deps.sh

build:
	go build -o vigil ./cmd/vigil

lint: deps
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	go vet ./...
	staticcheck ./...
	bash scripts/check-generated.sh

# Tests need root for debootstrap and runc; they build real test images once
# and cache them under $${VIGIL_TEST_CACHE:-/tmp/vigil-testcache}.
test: lint
	go test -timeout 25m ./...

demo: deps build
	bash scripts/demo.sh

bench: deps build
	bash bench/run.sh

# Short fuzzing of every parser, for local use: make fuzz FUZZTIME=1m
FUZZTIME ?= 20s
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)
