package transport

import (
	"slices"
	"strings"
)

// fastPathsOff names the fast paths this build leaves out, comma-separated:
// growstack, flush (flush coalescing) and batchconn. It exists so that the
// bench harness (routeguide-bench -fast-paths) can measure each fast path
// against a build without it, alone; set it with
//
//	go build -ldflags "-X github.com/routeguide/routeguide/server/transport.fastPathsOff=flush"
//
// By default it is empty: every fast path is on unless
// [Stack.WithoutFastPaths] or [PlainListener] turns them off.
var fastPathsOff string

// Whether this build leaves out each fast path, from fastPathsOff.
var (
	growStackOff = fastPathOff("growstack")
	flushOff     = fastPathOff("flush")
	batchconnOff = fastPathOff("batchconn")
)

func fastPathOff(name string) bool {
	return slices.Contains(strings.Split(fastPathsOff, ","), name)
}
