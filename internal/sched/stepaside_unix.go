//go:build unix

package sched

import (
	"os"
	"runtime"
	"sync"
	"syscall"
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
// On a core that never runs out of work the caller comes back at the
// scheduler's own poll, within about 10 ms. The wait has no deadline of
// its own: setting one at every step made the scheduler walk every timer
// of the process (10,000 watchers hold 10,000) each time it passed: a
// twentieth of the CPU in a profile of a fan-out to 10,000. If the pipe cannot be made at the first step,
// as when the process is out of file descriptors, StepAside is
// runtime.Gosched from then on.
func StepAside() {
	p := stepPipe()
	if p == nil {
		runtime.Gosched()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	written, waited := false, false
	err := p.rc.Read(func(fd uintptr) bool {
		if !written {
			// Write the byte only now: the read has just forgotten
			// any readiness the poller saw before, so a byte written
			// earlier and seen meanwhile would never wake this step.
			written = true
			_, err := p.w.Write(aByte)
			return err != nil // no byte, nothing to wait for
		}
		waited = true
		_, err := syscall.Read(int(fd), p.buf[:])
		return err != syscall.EAGAIN
	})
	if err != nil || !waited {
		runtime.Gosched() // no pipe to wait on after all
	}
}

var aByte = []byte{0}

// pipe is what StepAside waits on. Steps are one at a time: the poller
// lets one goroutine wait on a file's reads.
type pipe struct {
	mu  sync.Mutex // held for a step
	r   *os.File   // kept, so that it is not collected and closed
	w   *os.File
	rc  syscall.RawConn // of r
	buf [64]byte
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
