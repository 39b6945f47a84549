package transport

import (
	"net/http"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/server/observe"
)

// Limits are the timeouts the transport enforces on every call. Each must be
// positive; see server.Limits for what each means and its default.
type Limits struct {
	StreamIdleTimeout  time.Duration
	WriteTimeout       time.Duration
	DefaultTimeout     time.Duration
	MaxTimeout         time.Duration
	RequestReadTimeout time.Duration
}

// Stack is the transport's protections for one server. Its parts work
// together: [Stack.Classify] is the outermost layer of the handler and
// starts each call's life, [Stack.Interceptor] goes among the interceptors
// of the connect.Server, and [Stack.Handler] wraps the handler that serves
// it.
type Stack struct {
	streams    openStreams
	limits     Limits
	refusals   *observe.Refusals
	noFastPath bool // whether flush coalescing is off, for diagnosis
}

// New returns the protections for a server under limits.
func New(limits Limits) *Stack {
	return &Stack{limits: limits}
}

// Interceptor ends streams that their client abandons, that outlive their
// deadline or a drain, with the code that says why; the calls' lives it
// reads are started by [Stack.Classify].
func (s *Stack) Interceptor() connect.ServerInterceptor {
	return s.intercept
}

// Handler wraps next, which serves the procedures through handlers that use
// [Stack.Interceptor], with flush coalescing, the
// HTTP/1 rule for bidirectional streams and clear answers to calls of
// procedures that do not exist or with a Content-Type no protocol uses. errorWriter answers in the
// caller's protocol; build it from the same handler options.
func (s *Stack) Handler(next http.Handler, procedures Procedures, errorWriter *connecthttp.ErrorWriter) http.Handler {
	refuser := &refuser{errorWriter: errorWriter, refusals: s.refusals, procedures: procedures}
	h := next
	if !s.noFastPath && !flushOff {
		h = coalesceFlushes(h, procedures)
	}
	h = answerMistakes(h, procedures, refuser)
	h = requireHTTP2ForBidi(h, refuser)
	return checkRequests(h, refuser)
}

// WithoutFastPaths turns flush coalescing, a fast path, off, for
// diagnosis. Call it before [Stack.Handler]. By default it is on.
func (s *Stack) WithoutFastPaths() {
	s.noFastPath = true
}

// RecordRefusals records the calls the transport refuses before connect-go
// serves them through refusals. Call it before [Stack.Handler]. By default
// they are not recorded.
func (s *Stack) RecordRefusals(refusals *observe.Refusals) {
	s.refusals = refusals
}

// Drain refuses new streams and ends the open ones with unavailable, cutting
// off any that are blocked on a client. Unary calls go on.
func (s *Stack) Drain() {
	s.streams.drain()
}

// OpenStreams counts the streams in progress.
func (s *Stack) OpenStreams() int {
	return s.streams.count()
}
