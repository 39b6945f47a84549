#!/bin/sh
# build.sh builds Go programs with a copy of the Go toolchain whose net/http
# counts the work of its HTTP/2 server's write scheduler: how many stream
# queues each Pop looks at before it finds a frame, and how many it looks
# at when it finds none. A program built so prints the counts every five
# seconds to standard error when run with H2WALK=1 (BENCHMARKS.md,
# "Watchers and fan-out: round seven"). The patch is for Go 1.26's
# net/http; it fails to apply, and says so, on a toolchain it does not fit.
#
#	bench/h2walk/build.sh -o /tmp/walk-server ./server/cmd/routeguide-server
#	H2WALK=1 /tmp/walk-server --addr 127.0.0.1:8080
set -eu
patchfile=$(cd "$(dirname "$0")" && pwd)/h2walk.patch
goroot=$(go env GOROOT)
copy=${H2WALK_GOROOT:-${TMPDIR:-/tmp}/goroot-h2walk}
rm -rf "$copy"
cp -a "$goroot" "$copy"
patch -s -d "$copy" -p1 < "$patchfile"
GOROOT="$copy" PATH="$copy/bin:$PATH" go build "$@"
