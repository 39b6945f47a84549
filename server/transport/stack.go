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

// Stack is the transport's protections for one server. Its two halves work
// together: [Stack.Interceptor] goes among the interceptors of the
// connect.Server, and [Stack.Handler] wraps the handler that serves it.
type Stack struct {
	calls      *callGuard
	limits     Limits
	refusals   *observe.Refusals
	noFastPath bool // whether flush coalescing is off, for diagnosis
}

// New returns the protections for a server under limits.
func New(limits Limits) *Stack {
	return &Stack{calls: newCallGuard(limits), limits: limits}
}

// Interceptor gives every call a deadline within bounds and ends streams
// that their client abandons or that outlive a drain, with the code that
// says why.
func (s *Stack) Interceptor() connect.ServerInterceptor {
	return s.calls.intercept
}

// Handler wraps next, which serves the procedures through handlers that use
// [Stack.Interceptor], with the progress guard, flush coalescing, the
// HTTP/1 rule for bidirectional streams and clear answers to calls of
// procedures that do not exist or with a Content-Type no protocol uses. errorWriter answers in the
// caller's protocol; build it from the same handler options.
func (s *Stack) Handler(next http.Handler, procedures Procedures, errorWriter *connecthttp.ErrorWriter) http.Handler {
	refuser := &refuser{errorWriter: errorWriter, refusals: s.refusals, procedures: procedures}
	h := next
	if !s.noFastPath {
		h = coalesceFlushes(h, procedures)
	}
	h = answerMistakes(h, procedures, refuser)
	h = requireHTTP2ForBidi(h, refuser)
	h = checkRequests(h, refuser)
	return guardProgress(h, s.limits, procedures)
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
	s.calls.drain()
}

// OpenStreams counts the streams in progress.
func (s *Stack) OpenStreams() int {
	return s.calls.openStreams()
}
