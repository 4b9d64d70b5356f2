#!/bin/sh
# Runs every fuzz target in the module for a while each (default 20s).
# New interesting inputs stay in Go's cache; failing inputs are written to
# the package's testdata/fuzz, to be committed with the fix.
set -eu
time=${1:-20s}
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "== $pkg $target ($time)"
		go test -run '^$' -fuzz "^$target\$" -fuzztime "$time" -fuzzminimizetime 2s "$pkg"
	done
done
