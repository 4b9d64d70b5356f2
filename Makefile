# pando: one static binary for a network of download mirrors.

GO ?= go

.PHONY: build test deps cross fuzz bench-sync clean

build:
	CGO_ENABLED=0 $(GO) build -o bin/pando ./cmd/pando

# test installs the Debian packages the tests drive (when missing and run as
# root), vets the tree as Linux, FreeBSD, OpenBSD and macOS build it, then
# runs every test with the race detector.
test: deps cross
	$(GO) test -race -count=1 -timeout 20m ./...

# cross vets everything, tests included, for each system pando builds for;
# the tests themselves run on Linux.
cross:
	GOOS=linux $(GO) vet ./...
	GOOS=freebsd $(GO) vet ./...
	GOOS=openbsd $(GO) vet ./...
	GOOS=darwin $(GO) vet ./...

deps:
	@sh scripts/install-deps.sh

# fuzz runs every fuzz target briefly; the corpora live in testdata/fuzz.
fuzz:
	@sh scripts/fuzz.sh 20s

bench-sync: build
	$(GO) run ./bench/sync $(BENCH_FLAGS)

clean:
	rm -rf bin artifacts
