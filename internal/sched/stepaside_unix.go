//go:build unix

package sched

import (
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// StepAside lets every goroutine that is ready to run, and every one that
// the network has made ready meanwhile, run before the caller goes on.
//
// runtime.Gosched is not enough for a goroutine that wakes thousands of
// others in waves, as a delivery to watchers does: it queues the caller
// behind the goroutines ready to run but ahead of the network, which Go's
// scheduler polls only once it has nothing left to run, or every 10 ms.
// A request that arrives during a long fan-out on one core then waits up
// to 10 ms for the poll at each step. StepAside instead parks the caller
// on the network poller, waiting for a byte it has just put in a pipe, so
// that the caller and the network's goroutines become ready together,
// once the ones already ready have run (BENCHMARKS.md, "Watchers and
// fan-out: round twelve"). It costs two system calls of its own.
//
// On a core that never runs out of work the caller comes back after
// [Limit] at the latest. If the pipe cannot be made at the first step, as
// when the process is out of file descriptors, StepAside is
// runtime.Gosched from then on.
func StepAside() {
	p := stepPipe()
	if p == nil {
		runtime.Gosched()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.w.Write(aByte); err != nil {
		runtime.Gosched()
		return
	}
	if err := p.r.SetReadDeadline(time.Now().Add(Limit)); err != nil {
		runtime.Gosched()
		return
	}
	polled := false
	err := p.rc.Read(func(fd uintptr) bool {
		if !polled {
			polled = true
			return false // wait for the poller to see the byte
		}
		_, err := syscall.Read(int(fd), p.buf[:])
		return err != syscall.EAGAIN
	})
	if err != nil {
		// Past the limit. Empty the pipe: a write to a pipe that is not
		// empty need not tell the poller, and every later step would
		// wait for its limit.
		_ = p.rc.Control(func(fd uintptr) {
			for {
				if n, err := syscall.Read(int(fd), p.buf[:]); n <= 0 || err != nil {
					return
				}
			}
		})
	}
}

// Limit is the longest [StepAside] keeps its caller aside: a wave of a
// fan-out, 128 deliveries, takes about 2 ms of a core. A variable for
// tests, which must not race with StepAside.
var Limit = 5 * time.Millisecond

var aByte = []byte{0}

// pipe is what StepAside waits on. Steps are one at a time: the poller
// lets one goroutine wait on a file's reads.
type pipe struct {
	mu  sync.Mutex // held for a step
	r   *os.File
	w   *os.File
	rc  syscall.RawConn // of r
	buf [64]byte        // bytes of steps past their limit are read too
}

// stepPipe returns the process's pipe, made at the first step, or nil if
// it cannot be made.
var stepPipe = sync.OnceValue(func() *pipe {
	r, w, err := os.Pipe()
	if err != nil {
		return nil
	}
	rc, err := r.SyscallConn()
	if err != nil {
		r.Close()
		w.Close()
		return nil
	}
	return &pipe{r: r, w: w, rc: rc}
})
