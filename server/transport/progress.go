package transport

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// clockBase is the origin of progressWatch's monotonic clock readings.
var clockBase = time.Now()

// clock returns the time t as progressWatch counts it: nanoseconds after
// clockBase, plus 1 so that 0 can mean none.
func clock(t time.Time) int64 {
	return int64(t.Sub(clockBase)) + 1
}

// ticksPerTimeout is how many times a watch's timer looks at the operation
// in progress within one timeout: an operation that makes no progress is
// cut off between the timeout and a quarter more.
const ticksPerTimeout = 4

// progressWatch times one kind of operation, reads or writes, of one
// request, which makes them one at a time. An operation only counts itself,
// at its start and its end, with one atomic addition each: a clock reading
// per message would cost more than the rest of the watch (13 ns against
// 70 ns, about a tenth of a streamed message's CPU: BENCHMARKS.md, "The fast
// paths"). The timer, armed by the first operation after it stopped, ticks
// every quarter of the timeout while operations go on, and cuts off one it
// has seen in progress for a whole timeout. It also fires at the watch's
// deadline, if any: from then on, operations are cut off as they start.
type progressWatch struct {
	// The fields begin and end use come first: see [callLife].

	// state is odd while an operation is in progress: begin and end each
	// add one, so that it also tells one operation from the next.
	state        atomic.Uint64
	ticking      atomic.Bool // whether the timer will fire within a tick
	pastDeadline atomic.Bool
	deadline     atomic.Int64 // clock() of the deadline; 0 if none

	life    *callLife
	timeout time.Duration
	reads   bool // whether it watches reads, rather than writes

	mu      sync.Mutex // protects the fields below
	timer   *time.Timer
	stopped bool
	seen    uint64 // state at the last tick
	ticks   int    // consecutive ticks that saw the operation of state seen
	// tick is how often the timer looks while operations go on, and
	// cutAfter how many ticks that see one operation in progress cut it
	// off; zero means a quarter of the timeout and ticksPerTimeout. A
	// stall limit (see [OnWriteStall]) makes the ticks a quarter of it.
	tick     time.Duration
	cutAfter int
	// onStall, if set, is called once, on the timer's goroutine, when
	// stallAfter ticks have seen one operation in progress.
	onStall    func()
	stallAfter int
}

// begin records the start of an operation, and arms the timer unless it is
// ticking already.
func (w *progressWatch) begin() {
	state := w.state.Add(1)
	if w.pastDeadline.Load() {
		w.cutOff(false)
		return
	}
	if !w.ticking.Load() && w.ticking.CompareAndSwap(false, true) {
		w.arm(state)
	}
}

// end records the end of the operation.
func (w *progressWatch) end() {
	w.state.Add(1)
}

// setDeadline makes operations due at deadline at the latest.
func (w *progressWatch) setDeadline(deadline time.Time) {
	w.deadline.Store(clock(deadline))
	w.arm(0)
}

// arm sets the timer to fire at the deadline, or within a tick if the
// watch is ticking and that comes first. Arms are serialized, and each
// looks at ticking afresh, so the last one to run sets the timer right.
// startedBy is the state of the operation that starts the ticking, which
// has then been in progress for exactly as many ticks as see it; 0 if none.
func (w *progressWatch) arm(startedBy uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armLocked(startedBy)
}

func (w *progressWatch) armLocked(startedBy uint64) {
	if w.stopped {
		return
	}
	if startedBy != 0 {
		w.seen, w.ticks = startedBy, 0
	}
	d := time.Duration(-1)
	if w.ticking.Load() {
		d = w.tickLocked()
	}
	if deadline := w.deadline.Load(); deadline != 0 {
		untilDeadline := time.Duration(max(deadline-clock(time.Now()), 0))
		if d < 0 || untilDeadline < d {
			d = untilDeadline
		}
	}
	switch {
	case d < 0:
		// Nothing to time: let the timer go, which an idle stream would
		// otherwise hold as long as it is open. This runs once the timer
		// has fired, so none is pending.
		w.timer = nil
	case w.timer == nil:
		w.timer = time.AfterFunc(d, w.fire)
	default:
		w.timer.Reset(d)
	}
}

// fire runs when the timer does. ticking is cleared before state is read,
// so an operation that starts meanwhile either is seen here or arms the
// timer itself.
func (w *progressWatch) fire() {
	w.ticking.Store(false)
	state := w.state.Load()
	inProgress := state%2 == 1
	if deadline := w.deadline.Load(); deadline != 0 && clock(time.Now()) >= deadline {
		w.pastDeadline.Store(true)
		if inProgress {
			w.cutOff(false)
		}
		return
	}
	cut, onStall := w.stalled(state)
	if onStall != nil {
		onStall()
	}
	if cut {
		w.cutOff(true)
		return
	}
	if inProgress {
		w.ticking.Store(true)
	}
	w.arm(0)
}

// stalled counts the ticks that have seen the operation of state in
// progress, says whether it has been in progress for the timeout, and
// returns the stall function to call, once, if it has been for the stall
// limit. An operation first seen by a tick started during the tick before,
// so its count starts at 0: it is cut off a timeout after that tick, at
// most a tick late. The one that started the ticking is counted from its
// start.
func (w *progressWatch) stalled(state uint64) (cut bool, onStall func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.stopped:
		return false, nil
	case state%2 == 0:
		w.seen, w.ticks = 0, 0
	case state == w.seen:
		w.ticks++
	default:
		w.seen, w.ticks = state, 0
	}
	if w.onStall != nil && w.ticks >= w.stallAfter {
		onStall, w.onStall = w.onStall, nil
	}
	cutAfter := w.cutAfter
	if cutAfter == 0 {
		cutAfter = ticksPerTimeout
	}
	return w.ticks >= cutAfter, onStall
}

// tickLocked returns how often the timer looks while operations go on.
func (w *progressWatch) tickLocked() time.Duration {
	if w.tick == 0 {
		return w.timeout / ticksPerTimeout
	}
	return w.tick
}

// setStall has f called, once, when an operation has been in progress for
// limit, which must be shorter than the timeout: the timer then ticks a
// quarter of limit apart, and the timeout takes as many ticks as it spans.
func (w *progressWatch) setStall(limit time.Duration, f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tick = max(limit/ticksPerTimeout, 1)
	w.stallAfter = ticksPerTimeout
	w.cutAfter = int((w.timeout + w.tick - 1) / w.tick)
	w.onStall = f
	if w.ticking.Load() {
		// The timer may be a tick of the timeout away.
		w.armLocked(0)
	}
}

func (w *progressWatch) cutOff(idle bool) {
	if w.reads {
		w.life.cutOffReads(idle)
	} else {
		w.life.cutOffWrites()
	}
}

// stop stops the timer for good, and lets it go.
func (w *progressWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
}

// guardedWriter is a response writer whose writes the call's life watches,
// with watch, the life's write watch.
type guardedWriter struct {
	http.ResponseWriter
	watch *progressWatch
}

func (w *guardedWriter) Write(p []byte) (int, error) {
	w.watch.begin()
	n, err := w.ResponseWriter.Write(p)
	w.watch.end()
	return n, err
}

// Flush implements http.Flusher, which connect-go needs for streams.
func (w *guardedWriter) Flush() {
	w.watch.begin()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	w.watch.end()
}

// writeAndFlush writes p and flushes, as one watched operation.
func (w *guardedWriter) writeAndFlush(p []byte) (int, error) {
	w.watch.begin()
	defer w.watch.end()
	n, err := w.ResponseWriter.Write(p)
	if f, ok := w.ResponseWriter.(http.Flusher); ok && err == nil {
		f.Flush()
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *guardedWriter) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}
