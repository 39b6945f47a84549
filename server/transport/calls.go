package transport

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect/v2"
)

const errShuttingDown = "the server is shutting down: call again, another server will answer"

// drainWriteGrace is how long a draining stream blocked on a client that
// does not read gets to take its last message before it is reset. A client
// that reads only slowly must get through what its flow-control window
// holds in that time to see the stream end with unavailable: 500 ms was too
// short on a loaded machine, where such clients were reset instead. It is
// well within the default --shutdown-timeout of 10 s.
const drainWriteGrace = 2 * time.Second

// callGuard is a connect interceptor that gives every call a deadline
// within the server's bounds, and keeps track of open streams so that they
// can be ended promptly when the server drains.
type callGuard struct {
	defaultTimeout, maxTimeout, idleTimeout time.Duration

	mu       sync.Mutex // protects draining and streams
	draining bool
	streams  map[*openStream]struct{}
}

type openStream struct {
	cancel   context.CancelFunc
	progress *progressGuard // nil outside guardProgress
	drained  atomic.Bool    // whether drain ended it
}

func newCallGuard(limits Limits) *callGuard {
	return &callGuard{
		defaultTimeout: limits.DefaultTimeout,
		maxTimeout:     limits.MaxTimeout,
		idleTimeout:    limits.StreamIdleTimeout,
		streams:        make(map[*openStream]struct{}),
	}
}

// withDeadline bounds ctx by the largest deadline the server allows, and
// gives a call that asked for none the default. A deadline already within
// bounds is kept as it is, without a context and a timer of its own.
func (g *callGuard) withDeadline(ctx context.Context, defaultTimeout time.Duration) (context.Context, context.CancelFunc) {
	timeout := g.maxTimeout
	if deadline, asked := ctx.Deadline(); !asked {
		timeout = defaultTimeout
	} else if time.Until(deadline) <= g.maxTimeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, timeout)
}

// intercept is the call guard as a connect-go interceptor.
func (g *callGuard) intercept(next connect.ServerFunc) connect.ServerFunc {
	return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
		if spec.StreamType == connect.StreamTypeUnary {
			// A call whose deadline has passed before it starts, as one
			// that asks for a timeout of 0 has, is not served.
			if ctx.Err() != nil {
				return withContextCode(ctx.Err())
			}
			ctx, cancel := g.withDeadline(ctx, g.defaultTimeout)
			defer cancel()
			return withContextCode(next(ctx, spec, stream))
		}
		return g.guardStream(ctx, spec, stream, next)
	}
}

// withContextCode gives a context error that a handler returns the code
// connect-go answers it with, so that the interceptors outside this one,
// the access log and the metrics, record the code the client gets rather
// than unknown. Connect errors are left as they are.
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

func (g *callGuard) guardStream(ctx context.Context, spec connect.Spec, conn connect.ServerStream, next connect.ServerFunc) error {
	// One context with the deadline, which drain cancels too, and no
	// context.AfterFunc: an idle stream holds every context made for
	// it, and each costs its parent an entry in a map of children.
	deadline := time.Now().Add(g.maxTimeout)
	if asked, ok := ctx.Deadline(); ok && asked.Before(deadline) {
		deadline = asked
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	progress := progressGuardFrom(ctx)
	stream := &openStream{cancel: cancel, progress: progress}
	if !g.open(stream) {
		return connect.NewError(connect.CodeUnavailable, errShuttingDown)
	}
	defer g.close(stream)

	// A handler waiting for a message would not notice its deadline
	// pass: cut its reads off then. drain cuts them off itself.
	if progress != nil {
		progress.endReadsAt(deadline)
	}
	err := next(ctx, spec, conn)
	if err == nil {
		return nil
	}
	switch {
	case stream.drained.Load():
		return connect.NewError(connect.CodeUnavailable, errShuttingDown)
	case progress != nil && progress.idleTimedOut():
		return connect.Errorf(connect.CodeDeadlineExceeded,
			"the client sent nothing for %v while the server waited for a message", g.idleTimeout)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, "the call ran past its deadline")
	}
	return withContextCode(err)
}

// open registers a stream, unless the server is draining.
func (g *callGuard) open(s *openStream) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.draining {
		return false
	}
	g.streams[s] = struct{}{}
	return true
}

func (g *callGuard) close(s *openStream) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.streams, s)
}

// drain refuses new streams and ends the open ones.
func (g *callGuard) drain() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.draining = true
	for s := range g.streams {
		s.drained.Store(true)
		s.cancel()
		// A handler waiting for a message, or blocked writing to a client
		// that does not read, would not notice its context ending: cut its
		// reads off now, and its writes soon after.
		if s.progress != nil {
			s.progress.cutOffReads(false)
			time.AfterFunc(drainWriteGrace, s.progress.cutOffWrites)
		}
	}
}

// openStreams counts the streams in progress.
func (g *callGuard) openStreams() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.streams)
}
