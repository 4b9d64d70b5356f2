#!/bin/sh
# Runs the mirror-sync benchmark (pando against rsync) from the repository
# root, passing every argument on as a flag; see bench/sync/main.go.
#
#   bench/sync/run.sh                        # 75,000 files, about 1.4 GiB
#   bench/sync/run.sh -files 5000            # a quick look
#   bench/sync/run.sh -files 10000 -rtt 20ms # behind a 20 ms round trip
#   bench/sync/run.sh -keep /var/tmp/bench-tree -json > result.json
#
# The benchmark is built first and run directly (not with "go run") so that
# its exit status reaches the caller: 0 all checks passed, 1 a check or
# command failed, 2 bad flags.
set -eu
cd "$(dirname "$0")/../.."
command -v go >/dev/null || { echo "run.sh: go is not on PATH" >&2; exit 2; }
command -v rsync >/dev/null || { echo "run.sh: rsync is not on PATH (apt-get install rsync)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/bench-sync" ./bench/sync
"$tmp/bench-sync" "$@"
