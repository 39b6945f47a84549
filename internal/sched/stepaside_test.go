//go:build unix

package sched

import (
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestStepAsideLetsTheNetworkIn checks that a goroutine that the network
// poller can make ready while the caller works has run by the turn after
// the caller's step: on one core runtime.Gosched would let the caller go
// on first, and the reader would wait for the scheduler's next poll, up to
// 10 ms later.
// It does not call t.Parallel: it runs the process on one core.
func TestStepAsideLetsTheNetworkIn(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	r, w, err := os.Pipe() // pollable, and written at once, unlike TCP
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for round := range 20 {
		var read atomic.Bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			var b [1]byte
			if _, err := r.Read(b[:]); err == nil {
				read.Store(true)
			}
		}()
		runtime.Gosched() // the reader parks on the poller
		if _, err := w.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		StepAside()
		if waited := time.Since(start); waited > 10*time.Second {
			t.Errorf("round %d: a step with nothing else to run waited %v", round, waited)
		}
		// What the poll made ready runs at the next turn, or the one
		// after: one turn in 61 takes the scheduler's global queue first.
		runtime.Gosched()
		runtime.Gosched()
		if !read.Load() {
			t.Fatalf("round %d: the reader had not run after StepAside", round)
		}
		<-done
	}
	r.Close()
}

// TestStepAsideComesBackOnABusyCore checks that a caller that steps aside
// on a core that never runs out of work comes back all the same, with no
// poll of the network to wake it but the scheduler's own.
func TestStepAsideComesBackOnABusyCore(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var stop atomic.Bool
	spinning := make(chan struct{})
	go func() {
		close(spinning)
		for !stop.Load() {
			runtime.Gosched() // always ready to run
		}
	}()
	<-spinning
	for range 10 {
		StepAside()
	}
	stop.Store(true)
}

// BenchmarkStepAside measures a step with no other goroutine to run.
func BenchmarkStepAside(b *testing.B) {
	for b.Loop() {
		StepAside()
	}
}

// BenchmarkGosched is the same with runtime.Gosched, for comparison.
func BenchmarkGosched(b *testing.B) {
	for b.Loop() {
		runtime.Gosched()
	}
}
