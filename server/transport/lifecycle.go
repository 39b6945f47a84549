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

	"github.com/routeguide/routeguide/server/limits"
)

// callLife owns one call's lifecycle: its deadline, set once as its headers
// arrive; the idle and stall cut-offs of its reads and writes; its end when
// the server drains; and the code a call cut off for any of these reasons
// ends with. [Stack.Classify] starts it and hangs it off the call's [Call],
// where [Stack.intercept] finds it. A call's life, its body and its writer
// are one allocation, and a read or write costs a few atomic operations
// (see progressWatch): nothing reaches the HTTP/2 server's loop unless a
// timeout is reached.
type callLife struct {
	// writer and the fields of write that every write touches come
	// first, in the first cache line of the allocation (its size class
	// puts it at the start of one): a watcher woken to write a note finds
	// its life out of cache, and each line it touches costs a miss
	// (BENCHMARKS.md, "Watchers and fan-out: round eight").
	writer guardedWriter
	write  progressWatch

	w      http.ResponseWriter // for deadlines, through a ResponseController
	limits *limits.Limits
	reads  progressWatch

	// cancel ends the call's context, which has its deadline, early when
	// the server drains; nil for a procedure the server does not serve.
	cancel context.CancelFunc

	// mu keeps deadlines from being set once the request has been served:
	// the writer is no longer valid then.
	mu       sync.Mutex
	finished bool
	// readCutOff is set once reads have been cut off; idle says whether it
	// was for lack of a message rather than because the call was ending.
	readCutOff atomic.Bool
	idle       atomic.Bool
	// unary says it is a unary call; byReadTimeout that its reads are cut
	// off at the request read timeout, which comes before its deadline.
	unary, byReadTimeout bool
	// drained says the server's drain ended the call.
	drained atomic.Bool

	// end is set for a call that ends through its life
	// ([Procedure.EndsThroughLife]) with no timeout of its own, and only
	// then, so that other calls' lives are no larger.
	end *lifeEnd

	body guardedBody
}

// lifeEnd is how a call that ends through its life ends: timer fires at
// its deadline, which sets pastDeadline, and the deadline or a drain calls
// f, once; ended says one of them came. f and ended are guarded by the
// life's mu.
type lifeEnd struct {
	timer        *time.Timer
	pastDeadline atomic.Bool
	f            func()
	ended        bool
}

// startLife starts the life of the call c, which r asks for and w answers,
// and returns the request and writer to serve it with; the caller must call
// finish once it has been served.
//
// The deadline runs from when the call's headers arrive: a unary call
// without a timeout of its own gets the default, a stream the maximum, and
// no call more than the maximum. Reads are cut off at it, and a unary
// call's at the request read timeout if that comes first, so that a request
// trickled in a byte at a time ends on time with deadline_exceeded.
func startLife(w http.ResponseWriter, r *http.Request, c *Call, bounds *limits.Limits) (*callLife, http.ResponseWriter, *http.Request) {
	l := &callLife{w: w, limits: bounds}
	l.reads = progressWatch{life: l, timeout: bounds.StreamIdleTimeout, reads: true}
	l.write = progressWatch{life: l, timeout: bounds.WriteTimeout}
	l.writer = guardedWriter{ResponseWriter: w, watch: &l.write}
	c.life = l
	ctx := context.WithValue(r.Context(), callKey{}, c)
	if c.Known {
		timeout := bounds.MaxTimeout
		switch {
		case c.AskedTimeout:
			timeout = min(c.Timeout, bounds.MaxTimeout)
		case c.StreamType == connect.StreamTypeUnary:
			timeout = bounds.DefaultTimeout
		}
		deadline := c.Start.Add(timeout)
		l.unary = c.StreamType == connect.StreamTypeUnary
		readBy := deadline
		if byReadTimeout := c.Start.Add(bounds.RequestReadTimeout); l.unary && byReadTimeout.Before(readBy) {
			l.byReadTimeout, readBy = true, byReadTimeout
		}
		l.reads.setDeadline(readBy)
		if c.procedure != nil && c.procedure.EndsThroughLife && !c.AskedTimeout {
			// No context of its own: the deadline and a drain reach
			// the handler through OnEnd.
			l.end = &lifeEnd{}
			l.end.timer = time.AfterFunc(time.Until(deadline), func() {
				l.end.pastDeadline.Store(true)
				l.ending()
			})
		} else {
			// One context with the deadline, which drain cancels too,
			// and no context.AfterFunc: an idle stream holds every
			// context made for it, and each costs its parent an entry
			// in a map of children.
			ctx, l.cancel = context.WithDeadline(ctx, deadline)
		}
	}
	r = r.WithContext(ctx)
	if r.Body != nil && r.Body != http.NoBody {
		l.body = guardedBody{ReadCloser: r.Body, life: l}
		r.Body = &l.body
	}
	return l, &l.writer, r
}

// finish ends the life once the request has been served.
func (l *callLife) finish() {
	l.mu.Lock()
	l.finished = true
	end := l.end
	if end != nil {
		end.f = nil
	}
	l.mu.Unlock()
	l.reads.stop()
	l.write.stop()
	if l.cancel != nil {
		l.cancel()
	}
	if end != nil {
		end.timer.Stop()
	}
}

// ending calls, once, the function a handler gave OnEnd, for a call that
// ends through its life.
func (l *callLife) ending() {
	l.mu.Lock()
	f := l.end.f
	l.end.f, l.end.ended = nil, true
	l.mu.Unlock()
	if f != nil {
		f()
	}
}

// OnEnd arranges for f to be called, once, when the call of ctx, of a
// procedure whose calls end through their life ([Procedure.EndsThroughLife]),
// reaches its deadline or the server drains: at once if that has happened,
// otherwise on the goroutine of the timer or the drain. f must make the
// handler return soon, with any error: the interceptor gives the call the
// code that says why. For any other call, whose context ends then, OnEnd
// does nothing. f may still be called, once, as the handler returns.
func OnEnd(ctx context.Context, f func()) {
	c, ok := CallOf(ctx)
	if !ok || c.life == nil || c.life.end == nil {
		return
	}
	l := c.life
	l.mu.Lock()
	if l.end.ended {
		l.mu.Unlock()
		f()
		return
	}
	if !l.finished {
		l.end.f = f
	}
	l.mu.Unlock()
}

// OnWriteStall arranges for f to be called, once, on a timer's goroutine,
// when a write to the client of the call of ctx has made no progress for
// limit, as when the client stops reading a stream and its flow-control
// window is full: the handler learns of it before the write timeout ends
// the call, and can stop gathering what will not be read. The write goes
// on waiting, and the write timeout still cuts it off. The stall is seen
// between limit and a quarter more, which must be shorter than the write
// timeout ([limits.Limits.WatchStall] is checked so). The stall is timed by
// the same watch as the write timeout, so it costs a write nothing more
// (see progressWatch). For a call that did not go through [Stack.Classify],
// OnWriteStall does nothing.
func OnWriteStall(ctx context.Context, limit time.Duration, f func()) {
	if c, ok := CallOf(ctx); ok && c.life != nil {
		c.life.write.setStall(limit, f)
	}
}

// cutOffReads makes the reads in progress and all later ones fail at once.
func (l *callLife) cutOffReads(idle bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finished || l.readCutOff.Load() {
		return
	}
	l.idle.Store(idle)
	l.readCutOff.Store(true)
	_ = http.NewResponseController(l.w).SetReadDeadline(time.Now())
}

// cutOffWrites makes the write in progress and all later ones fail, which
// resets the stream.
func (l *callLife) cutOffWrites() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.finished {
		_ = http.NewResponseController(l.w).SetWriteDeadline(time.Now())
	}
}

// idleTimedOut says whether reads were cut off because the client sent
// nothing for the idle timeout.
func (l *callLife) idleTimedOut() bool {
	return l.readCutOff.Load() && l.idle.Load()
}

// drain ends the call because the server drains: its context now, a
// handler waiting for a message at once, and one blocked writing to a
// client that does not read after drainWriteGrace.
func (l *callLife) drain() {
	l.drained.Store(true)
	if l.cancel != nil { // nil for a procedure the table lacks, or one that ends through its life
		l.cancel()
	}
	if l.end != nil {
		l.ending()
	}
	l.cutOffReads(false)
	time.AfterFunc(drainWriteGrace, l.cutOffWrites)
}

// readError says, with a connect code, why a read of the request failed.
// connect-go reports read errors it cannot classify as internal, blaming
// the server for what its client did.
func (l *callLife) readError(err error) error {
	var connectErr *connect.Error
	switch {
	case errors.As(err, &connectErr):
		return err
	case l.idleTimedOut():
		return connect.Errorf(connect.CodeDeadlineExceeded,
			"the client sent nothing for %v while the server waited for its request", l.reads.timeout)
	case l.readCutOff.Load() && l.byReadTimeout:
		return connect.Errorf(connect.CodeDeadlineExceeded,
			"the request did not arrive within %v of its headers", l.limits.RequestReadTimeout)
	case l.readCutOff.Load() && l.unary:
		return connect.NewError(connect.CodeDeadlineExceeded, "the request did not arrive before the call's deadline")
	case l.readCutOff.Load():
		// Drain, or a stream's deadline: the interceptor says which.
		return connect.NewError(connect.CodeDeadlineExceeded, "the call ended while the server waited for its request")
	}
	return connect.Errorf(connect.CodeCanceled, "the client stopped sending its request: %v", err).WithCause(err)
}

// intercept is the interceptor half of a call's life: it refuses a call
// whose deadline has passed before it starts, registers a stream for drain,
// and gives a call that ends for its life's reasons the code that says why.
// A call that did not go through [Stack.Classify] only gets its codes.
func (s *Stack) intercept(next connect.ServerFunc) connect.ServerFunc {
	return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
		var life *callLife
		if c, ok := CallOf(ctx); ok {
			life = c.life
		}
		if spec.StreamType == connect.StreamTypeUnary || life == nil {
			// A call whose deadline has passed before it starts, as one
			// that asks for a timeout of 0 has, is not served.
			if err := ctx.Err(); err != nil && spec.StreamType == connect.StreamTypeUnary {
				return withContextCode(err)
			}
			return withContextCode(next(ctx, spec, stream))
		}
		if !s.openStream(life) {
			return connect.NewError(connect.CodeUnavailable, errShuttingDown)
		}
		defer s.closeStream(life)
		err := next(ctx, spec, stream)
		switch {
		case err == nil:
			return nil
		case life.drained.Load():
			return connect.NewError(connect.CodeUnavailable, errShuttingDown)
		case life.idleTimedOut():
			return connect.Errorf(connect.CodeDeadlineExceeded,
				"the client sent nothing for %v while the server waited for a message", s.limits.StreamIdleTimeout)
		case errors.Is(ctx.Err(), context.DeadlineExceeded), life.end != nil && life.end.pastDeadline.Load():
			return connect.NewError(connect.CodeDeadlineExceeded, "the call ran past its deadline")
		}
		return withContextCode(err)
	}
}

// withContextCode gives a context error that a handler returns the code
// connect-go answers it with, so that the access log and the metrics, which
// are outside, record the code the client gets rather than unknown.
func withContextCode(err error) error {
	var connectErr *connect.Error
	switch {
	case err == nil || errors.As(err, &connectErr):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err.Error()).WithCause(err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err.Error()).WithCause(err)
	}
	return err
}

// guardedBody is a request body whose reads the call's life watches.
type guardedBody struct {
	io.ReadCloser
	life *callLife
}

func (b *guardedBody) Read(p []byte) (int, error) {
	b.life.reads.begin()
	n, err := b.ReadCloser.Read(p)
	b.life.reads.end()
	switch {
	case errors.Is(err, io.EOF):
		// The request is whole: no read can wait any more, so there is
		// nothing left to time, and a stream open for long (a watch)
		// holds no timer for its reads.
		b.life.reads.stop()
	case err != nil:
		err = b.life.readError(err)
	}
	return n, err
}
