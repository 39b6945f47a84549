package transport

import (
	"net/http"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/server/limits"
)

// Stack is the transport's protections for one server. Its parts work
// together: [Stack.Classify] is the outermost layer of the handler and
// starts each call's life, [Stack.Handler] lets calls into connect-go's
// handlers, and [Stack.Interceptor] goes among the interceptors of the
// connect.Server.
type Stack struct {
	streams    openStreams
	limits     limits.Limits // with its defaults
	noFastPath bool          // whether the fast paths are off, for diagnosis
}

// New returns the protections for a server under the call timeouts of l
// (StreamIdleTimeout, WriteTimeout, DefaultTimeout, MaxTimeout,
// RequestReadTimeout), zero fields taking their defaults.
func New(l limits.Limits) *Stack {
	return &Stack{limits: l.WithDefaults()}
}

// Interceptor ends streams that their client abandons, that outlive their
// deadline or a drain, with the code that says why; the calls' lives it
// reads are started by [Stack.Classify].
func (s *Stack) Interceptor() connect.ServerInterceptor {
	return s.intercept
}

// Handler returns the layer that lets into connect-go's handlers, which
// use [Stack.Interceptor], the calls they can serve, and answers the
// others itself (see [Served]). It goes inside [Stack.Classify], and
// serves the streams of responses with their flushes coalesced, a fast
// path. It fills in the table of procedures: call it once per table.
func (s *Stack) Handler(served Served) http.Handler {
	for path, p := range served.Procedures {
		if p.handler == nil {
			panic("transport: procedure " + path + " has no handler: mount it through Procedures.Mux")
		}
		p.serve = p.handler
		if !s.noFastPath && !flushOff {
			p.serve = coalesceFlushes(p.handler, served.Procedures)
		}
	}
	return &admission{Served: served, mistakes: newMistakes(served.Procedures)}
}

// WithoutFastPaths turns the fast paths (flush coalescing, stack
// presizing) off, for diagnosis. Call it before [Stack.Handler]. By
// default they are on.
func (s *Stack) WithoutFastPaths() {
	s.noFastPath = true
}

// Drain refuses new streams and ends the open ones with unavailable, cutting
// off any that are blocked on a client. Unary calls go on.
func (s *Stack) Drain() {
	s.streams.drain()
}
