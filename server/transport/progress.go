package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect/v2"
)

// progressGuard ends a call whose client stops taking part: a read that
// waits longer than the idle timeout, or a write that makes no progress for
// the write timeout, is cut off through the request's deadlines. Nothing is
// posted to the HTTP/2 server's loop unless a timeout is reached.
//
// A request's guard, its body and its writer are one allocation, and a read
// or write costs a few atomic operations and no clock reading: the timer of
// each kind of operation is armed by the first operation after it stopped,
// and looks, when it fires, at the operation then in progress, if any. A
// stream of messages thus touches its timers a few times a timeout period,
// not once a message.
type progressGuard struct {
	w     http.ResponseWriter // for deadlines, through a ResponseController
	reads progressWatch
	write progressWatch

	// mu keeps deadlines from being set once the request has been served:
	// the writer is no longer valid then.
	mu       sync.Mutex
	finished bool
	// readCutOff is set once reads have been cut off; idle says whether it
	// was for lack of a message rather than because the call was ending.
	readCutOff atomic.Bool
	idle       atomic.Bool
	// unary says whether this is a unary call, whose reads are cut off at
	// its deadline or readTimeout after its headers, whichever is first;
	// byReadTimeout says it was the latter. Streams' call guard says why
	// their reads were cut off.
	unary, byReadTimeout bool
	readTimeout          time.Duration

	body   guardedBody
	writer guardedWriter
}

type progressGuardKey struct{}

// guardProgress installs a progressGuard on every request. Only streams
// get it in their context, where their call guard looks for it; unary
// calls get their deadline there instead.
//
// A unary call's deadline runs from the moment its headers arrive, not
// from when connect-go has read its request: the request's context gets it
// here, and reads of the request are cut off at it, or at the request read
// timeout if that comes first, so that a request trickled in a byte at a
// time ends on time with deadline_exceeded.
func guardProgress(next http.Handler, limits Limits, procedures Procedures) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		g := &progressGuard{w: w}
		g.reads = progressWatch{guard: g, timeout: limits.StreamIdleTimeout, reads: true}
		g.write = progressWatch{guard: g, timeout: limits.WriteTimeout}
		g.writer = guardedWriter{ResponseWriter: w, guard: g}
		defer g.finish()
		if r.Body != nil && r.Body != http.NoBody {
			g.body = guardedBody{ReadCloser: r.Body, guard: g}
			r.Body = &g.body
		}
		switch call := callOf(r, procedures); {
		case !call.Known:
		case call.StreamType == connect.StreamTypeUnary:
			timeout := limits.DefaultTimeout
			if call.AskedTimeout {
				timeout = min(call.Timeout, limits.MaxTimeout)
			}
			deadline := start.Add(timeout)
			g.unary, g.readTimeout = true, limits.RequestReadTimeout
			if readBy := start.Add(limits.RequestReadTimeout); readBy.Before(deadline) {
				g.byReadTimeout = true
				g.reads.setDeadline(readBy)
			} else {
				g.reads.setDeadline(deadline)
			}
			ctx, cancel := context.WithDeadline(r.Context(), deadline)
			defer cancel()
			r = r.WithContext(ctx)
		default:
			r = r.WithContext(context.WithValue(r.Context(), progressGuardKey{}, g))
		}
		next.ServeHTTP(&g.writer, r)
	})
}

// progressGuardFrom returns the request's guard, or nil outside a request
// served through guardProgress or for a unary procedure.
func progressGuardFrom(ctx context.Context) *progressGuard {
	g, _ := ctx.Value(progressGuardKey{}).(*progressGuard)
	return g
}

// cutOffReads makes the reads in progress and all later ones fail at once.
func (g *progressGuard) cutOffReads(idle bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.finished || g.readCutOff.Load() {
		return
	}
	g.idle.Store(idle)
	g.readCutOff.Store(true)
	_ = http.NewResponseController(g.w).SetReadDeadline(time.Now())
}

// cutOffWrites makes the write in progress and all later ones fail, which
// resets the stream.
func (g *progressGuard) cutOffWrites() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.finished {
		_ = http.NewResponseController(g.w).SetWriteDeadline(time.Now())
	}
}

// idleTimedOut says whether reads were cut off because the client sent
// nothing for the idle timeout.
func (g *progressGuard) idleTimedOut() bool {
	return g.readCutOff.Load() && g.idle.Load()
}

// finish stops the guard once the request has been served.
func (g *progressGuard) finish() {
	g.mu.Lock()
	g.finished = true
	g.mu.Unlock()
	g.reads.stop()
	g.write.stop()
}

// endReadsAt cuts off reads from deadline on: a handler waiting for a
// message would not notice its call's deadline pass.
func (g *progressGuard) endReadsAt(deadline time.Time) {
	g.reads.setDeadline(deadline)
}

// clockBase is the origin of progressWatch's clock readings, which are
// monotonic.
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
// at its start and its end, with one atomic addition each: reading the
// clock for every message would cost more than the rest of the watch (some
// 90 ns a reading on the virtual machines measured, 5% of a streamed
// message). The timer does the timing: armed by the first operation after
// it stopped, it ticks every quarter of the timeout while operations go on
// and cuts off one it has seen in progress, the same one, for a whole
// timeout. It also fires at the watch's deadline, if it has one: from then
// on, operations are cut off as they start.
type progressWatch struct {
	guard   *progressGuard
	timeout time.Duration
	reads   bool // whether it watches reads, rather than writes

	// state is odd while an operation is in progress: begin and end each
	// add one, so that it also tells one operation from the next.
	state        atomic.Uint64
	ticking      atomic.Bool  // whether the timer will fire within a tick
	deadline     atomic.Int64 // clock() of the deadline; 0 if none
	pastDeadline atomic.Bool

	mu      sync.Mutex // protects the fields below
	timer   *time.Timer
	stopped bool
	seen    uint64 // state at the last tick
	ticks   int    // consecutive ticks that saw the operation of state seen
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
	if w.stopped {
		return
	}
	if startedBy != 0 {
		w.seen, w.ticks = startedBy, 0
	}
	d := time.Duration(-1)
	if w.ticking.Load() {
		d = w.timeout / ticksPerTimeout
	}
	if deadline := w.deadline.Load(); deadline != 0 {
		untilDeadline := time.Duration(max(deadline-clock(time.Now()), 0))
		if d < 0 || untilDeadline < d {
			d = untilDeadline
		}
	}
	switch {
	case d < 0:
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
	if w.stalled(state) {
		w.cutOff(true)
		return
	}
	if inProgress {
		w.ticking.Store(true)
	}
	w.arm(0)
}

// stalled counts the ticks that have seen the operation of state in
// progress, and says whether it has been in progress for the timeout. An
// operation first seen by a tick started during the tick before, so its
// count starts at 0: it is cut off a timeout after that tick, at most a
// tick late. The one that started the ticking is counted from its start.
func (w *progressWatch) stalled(state uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case state%2 == 0:
		w.seen, w.ticks = 0, 0
	case state == w.seen:
		w.ticks++
	default:
		w.seen, w.ticks = state, 0
	}
	return w.ticks >= ticksPerTimeout
}

func (w *progressWatch) cutOff(idle bool) {
	if w.reads {
		w.guard.cutOffReads(idle)
	} else {
		w.guard.cutOffWrites()
	}
}

// stop stops the timer for good.
func (w *progressWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
	}
}

type guardedBody struct {
	io.ReadCloser
	guard *progressGuard
}

func (b *guardedBody) Read(p []byte) (int, error) {
	b.guard.reads.begin()
	n, err := b.ReadCloser.Read(p)
	b.guard.reads.end()
	if err != nil && !errors.Is(err, io.EOF) {
		err = b.guard.readError(err)
	}
	return n, err
}

// readError says, with a connect code, why a read of the request failed.
// connect-go reports read errors it cannot classify as internal, blaming
// the server for what its client did.
func (g *progressGuard) readError(err error) error {
	var connectErr *connect.Error
	switch {
	case errors.As(err, &connectErr):
		return err
	case g.readCutOff.Load() && g.idle.Load():
		return connect.Errorf(connect.CodeDeadlineExceeded,
			"the client sent nothing for %v while the server waited for its request", g.reads.timeout)
	case g.readCutOff.Load() && g.byReadTimeout:
		return connect.Errorf(connect.CodeDeadlineExceeded,
			"the request did not arrive within %v of its headers", g.readTimeout)
	case g.readCutOff.Load() && g.unary:
		return connect.NewError(connect.CodeDeadlineExceeded, "the request did not arrive before the call's deadline")
	case g.readCutOff.Load():
		// Drain, or a stream's deadline: the call guard says which.
		return connect.NewError(connect.CodeDeadlineExceeded, "the call ended while the server waited for its request")
	}
	return connect.Errorf(connect.CodeCanceled, "the client stopped sending its request: %v", err).WithCause(err)
}

type guardedWriter struct {
	http.ResponseWriter
	guard *progressGuard
}

func (w *guardedWriter) Write(p []byte) (int, error) {
	w.guard.write.begin()
	n, err := w.ResponseWriter.Write(p)
	w.guard.write.end()
	return n, err
}

// Flush implements http.Flusher, which connect-go needs for streams.
func (w *guardedWriter) Flush() {
	w.guard.write.begin()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	w.guard.write.end()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *guardedWriter) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}
