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

// presizedFrame is the stack frame that grows a handler's goroutine to
// the 16 KiB a call through connect-go needs: with the few frames above it
// and the runtime's guard, 12 KiB fits in 16 KiB, where 14 KiB would
// double it to 32 KiB.
const presizedFrame = 12 << 10

// growStack is a fast path for unary calls, which [Stack.Classify] takes.
// net/http starts each request's handler on a new goroutine with a small
// stack (the runtime's running average, a few KiB); the call path through
// these layers, connect-go and protobuf is deeper, and a stack grows by
// doubling, each time copying and adjusting every frame on it: 15% of the
// CPU of a unary call in profiles, most of it in one growth deep in
// connect-go. Growing it in the outermost layer, where only a few frames sit
// above, costs a copy of those and the zeroing of the frame. It pays: without
// it a GetFeature cost 1.20× the server CPU (BENCHMARKS.md, "The fast paths"). Streams are
// left alone: a stream's growth is paid once for many messages (for
// ListFeatures, presizing measured no gain), and a stream that waits, for
// its client or for notes to watch, would hold the larger stack as long as
// it is open.
//
// growStack needs a frame of presizedFrame bytes, which the runtime makes
// room for on entry. The frame is handed to a function that is not inlined,
// so that the compiler cannot leave it out.
//
//go:noinline
func growStack() {
	var frame [presizedFrame]byte
	touch(frame[:])
}

//go:noinline
func touch(b []byte) {
	b[len(b)-1] = 1
}
