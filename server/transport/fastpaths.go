package transport

import (
	"slices"
	"strings"
)

// fastPathsOff names the fast paths this build leaves out, comma-separated
// (growstack, flush, batchconn), for the bench harness (routeguide-bench
// -fast-paths) to measure each against a build without it:
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
// net/http starts each handler's goroutine with a small stack (the
// runtime's running average); the path through these layers, connect-go
// and protobuf is deeper, and each doubling of a stack copies every frame
// on it: 15% of a unary call's CPU in profiles. Growing it in the outermost
// layer, where few frames sit above, costs a copy of those and the zeroing
// of the frame; without it a GetFeature cost 1.20× the server CPU
// (BENCHMARKS.md, "The fast paths"). Streams are left alone: their growth is
// paid once for many messages (ListFeatures measured no gain), and one that
// waits would hold the larger stack as long as it is open. The frame goes
// to a function that is not inlined, so that the compiler keeps it.
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
