// Package transport protects connect-go's handlers from clients that stop
// taking part or make mistakes, and makes their streams cheap on net/http.
// [Stack.Classify] works out once what each request is (a [Call]) and
// starts its life (lifecycle.go: deadline, idle and stall cut-offs, drain);
// [Stack.Handler] answers the calls connect-go cannot serve and coalesces
// flushes; [Stack.Interceptor] gives a cut-off call its code.
// docs/architecture.md shows the whole path in its order.
package transport

import (
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/server/limits"
)

// Stack is the transport's protections for one server.
type Stack struct {
	limits     limits.Limits // with its defaults
	noFastPath bool          // whether the fast paths are off, for diagnosis

	// streams are the streams in progress, so that a drain can end them
	// promptly. Unary calls are not in it: they go on through a drain.
	mu       sync.Mutex // protects draining and streams
	draining bool
	streams  map[*callLife]struct{}
}

// New returns the protections for a server under the call timeouts of l
// (StreamIdleTimeout, WriteTimeout, DefaultTimeout, MaxTimeout,
// RequestReadTimeout), zero fields taking their defaults.
func New(l limits.Limits) *Stack {
	return &Stack{limits: l.WithDefaults(), streams: make(map[*callLife]struct{})}
}

// Interceptor ends streams that their client abandons, that outlive their
// deadline or a drain, with the code that says why.
func (s *Stack) Interceptor() connect.ServerInterceptor {
	return s.intercept
}

// Handler returns the layer that lets into connect-go's handlers, which
// use [Stack.Interceptor], the calls they can serve, and answers the
// others itself (see [Served]). It must go inside [Stack.Classify].
func (s *Stack) Handler(served Served) http.Handler {
	for path, p := range served.Procedures {
		if p.handler == nil {
			panic("transport: procedure " + path + " has no handler: mount it through Procedures.Mux")
		}
	}
	return &admission{Served: served, mistakes: newMistakes(served.Procedures), coalesce: !s.noFastPath && !flushOff}
}

// WithoutFastPaths turns flush coalescing and stack presizing, fast paths
// on by default, off, for diagnosis. Call it before [Stack.Handler].
func (s *Stack) WithoutFastPaths() {
	s.noFastPath = true
}

// Drain refuses new streams and ends the open ones with unavailable, cutting
// off any that are blocked on a client. Unary calls go on.
func (s *Stack) Drain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.draining = true
	for l := range s.streams {
		l.drain()
	}
}

// openStream registers a stream, unless the server is draining.
func (s *Stack) openStream(l *callLife) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.draining {
		s.streams[l] = struct{}{}
	}
	return !s.draining
}

func (s *Stack) closeStream(l *callLife) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.streams, l)
}

const errShuttingDown = "the server is shutting down: call again, another server will answer"

// drainWriteGrace is how long a draining stream blocked on a client that
// does not read gets to take its last message before it is reset. A client
// that reads only slowly must get through what its flow-control window
// holds in that time to see the stream end with unavailable: 500 ms was too
// short on a loaded machine, where such clients were reset instead. It is
// well within the default --shutdown-timeout of 10 s.
const drainWriteGrace = 2 * time.Second
