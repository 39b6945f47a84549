package server

import (
	"sync"
	"sync/atomic"
	"time"
)

// stallTicks is how many times a stallWatch's timer looks at the send in
// progress within one limit: a send that makes no progress is cut off
// between the limit and a quarter more.
const stallTicks = 4

// stallWatch cuts off a watch whose sends make no progress for a limit. A
// send only counts itself, with one atomic addition at its start, after
// every batch and at its end: resetting a timer at every wake-up and
// stopping it after every flush cost two trips through the runtime's timer
// heap a delivery, most of the watch's own CPU beside the send. The timer
// does the timing instead: armed by the first send after it stopped, it
// ticks every quarter of the limit while sends go on, and stops once it
// sees none in progress, so that an idle watch costs no CPU. It is made at
// the first send: a watch that is never sent anything holds none.
type stallWatch struct {
	limit time.Duration
	cut   func() // called once, on the timer's goroutine, when a send stalls

	// state is odd while a send is in progress: begin and end each add
	// one, progress two, so that it also tells one stretch of a send
	// from the next.
	state   atomic.Uint64
	ticking atomic.Bool // whether the timer will fire within a tick

	mu      sync.Mutex // protects the fields below
	timer   *time.Timer
	stopped bool
	seen    uint64 // state at the last tick
	ticks   int    // consecutive ticks that saw state seen in progress
}

// begin records the start of a send, and arms the timer unless it ticks.
func (w *stallWatch) begin() {
	w.state.Add(1)
	if !w.ticking.Load() && w.ticking.CompareAndSwap(false, true) {
		w.arm()
	}
}

// progress records that a send under way has made progress: the limit
// starts again.
func (w *stallWatch) progress() {
	w.state.Add(2)
}

// end records the end of the send.
func (w *stallWatch) end() {
	w.state.Add(1)
}

// arm sets the timer to fire in a tick.
func (w *stallWatch) arm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.stopped:
	case w.timer == nil:
		w.timer = time.AfterFunc(w.limit/stallTicks, w.fire)
	default:
		w.timer.Reset(w.limit / stallTicks)
	}
}

// fire runs when the timer does. ticking is cleared before state is read,
// so a send that begins meanwhile either is seen here or arms the timer
// itself.
func (w *stallWatch) fire() {
	w.ticking.Store(false)
	state := w.state.Load()
	w.mu.Lock()
	switch {
	case w.stopped:
		w.mu.Unlock()
		return
	case state%2 == 0:
		w.seen, w.ticks = 0, 0
		w.mu.Unlock()
		return // no send in progress: the next one arms the timer
	case state == w.seen:
		w.ticks++
	default:
		// First seen by this tick: it began or progressed during the
		// tick before, so its count starts at 0 and it is cut off a
		// limit after that tick, at most a tick late.
		w.seen, w.ticks = state, 0
	}
	stalled := w.ticks >= stallTicks
	if stalled {
		w.stopped = true
	}
	w.mu.Unlock()
	if stalled {
		w.cut()
		return
	}
	if w.ticking.CompareAndSwap(false, true) {
		w.arm()
	}
}

// stop stops the timer for good.
func (w *stallWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
	}
}
