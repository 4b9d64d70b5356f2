# pando: one static binary for a network of download mirrors.

GO ?= go

.PHONY: build test deps cross fuzz bench-sync clean

build:
	CGO_ENABLED=0 $(GO) build -o bin/pando ./cmd/pando

# test installs the Debian packages the tests drive (when missing and run as
# root), then vets and runs every test with the race detector, and vets the
# tree as FreeBSD and macOS build it.
test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) cross

# cross type-checks everything, tests included, for the other systems pando
# builds for; their tests run only there.
cross:
	GOOS=freebsd $(GO) vet ./...
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
