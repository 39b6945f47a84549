// Package transport protects connect-go's handlers from clients that stop
// taking part or make mistakes, and makes their streams cheap on net/http:
// deadlines within bounds, idle and stalled streams cut off, streams ended
// at drain, calls connect-go cannot serve answered clearly, and flushes
// coalesced. The outermost layer, [Stack.Classify], works out once what each
// request is (a [Call]: its procedure's entry in the table of procedures
// registered on the connect.Server, its protocol, codec and timeout), and
// every rule reads that.
//
// # A call's life
//
// One type, callLife (lifecycle.go), owns a call's lifecycle, and every
// call has one, made once:
//
//  1. [Stack.Classify], the outermost of the HTTP handlers, starts it with
//     the call's classification, which it hangs off: it sets the call's
//     deadline, once, from the moment its headers arrived (the one asked
//     for, capped at the largest allowed, or the default for a unary call
//     and the largest for a stream), and wraps the request body and the
//     response writer. Their reads and writes are watched (progress.go),
//     each kind with one timer that ticks four times a timeout period while
//     they go on: a read that waits past the stream idle timeout, or a write
//     that makes no progress for the write timeout, is cut off through the
//     request's read or write deadline, at most a quarter of the timeout
//     late; reads are also cut off at the deadline (a handler blocked in
//     Receive would not notice its context), a unary call's at the request
//     read timeout if that comes first.
//  2. The interceptor ([Stack.Interceptor]) finds the life in the
//     classification, registers a stream so that a drain can cancel it, cut
//     its reads off at once and its writes after a grace period (calls.go),
//     and, when the handler returns with an error, answers with the code
//     that says why: unavailable for a drain, deadline_exceeded for an idle
//     client or a deadline.
//
// Between the two, the admission ([Stack.Handler], admission.go) answers
// the calls connect-go cannot serve and calls the procedure's handler, and
// flush coalescing (flush.go) merges the flushes of streamed responses.
package transport

import (
	"net/http"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
)

// Procedure is what the table of procedures knows of one.
type Procedure struct {
	// StreamType is its shape.
	StreamType connect.StreamType
	// Writes says its calls change what the server stores, so that who
	// makes them matters (a gate may want to know them, [Gate]).
	Writes bool
	// EndsThroughLife says its handler learns of its call's deadline and
	// of the server's drain through [OnEnd] rather than its context. A
	// call of it that asks for no timeout keeps the stream's context as
	// net/http made it, with no deadline or cancel of the server's: those
	// cost every open stream about 0.6 KiB (the context and its timer,
	// and the map of children and the channel it makes its parent keep),
	// which an idle watch of notes, waiting for hours, is mostly made of
	// beside net/http's own. Its handler must call OnEnd before it waits.
	EndsThroughLife bool

	handler http.Handler // connect-go's, mounted through [Procedures.Mux]
	serve   http.Handler // handler behind the fast paths [Stack.Handler] chose
}

// Procedures maps the path of every procedure a server mounts, such as
// "/routeguide.RouteGuide/GetFeature", to what it is. [Stack.Classify]
// looks a request's path up in it once, and the stack then calls the
// procedure's handler without looking it up again.
type Procedures map[string]*Procedure

// ProceduresOf returns the table of every procedure registered on server;
// writes says which of them change what the server stores, and may be nil
// for none.
func ProceduresOf(server *connect.Server, writes func(procedure string) bool) Procedures {
	table := make(Procedures)
	for spec := range server.Specs() {
		table[spec.Procedure] = &Procedure{StreamType: spec.StreamType, Writes: writes != nil && writes(spec.Procedure)}
	}
	return table
}

// Mux returns the mux for connecthttp.Mount to mount the procedures of the
// table on: each procedure's handler goes into its entry, and every other
// pattern (connect-go's answer to unknown methods of a service) to
// fallback, which serves every request that is not a call of a procedure.
func (p Procedures) Mux(fallback *http.ServeMux) connecthttp.ServeMux {
	return procedureMux{p, fallback}
}

type procedureMux struct {
	procedures Procedures
	fallback   *http.ServeMux
}

func (m procedureMux) Handle(pattern string, handler http.Handler) {
	if p, ok := m.procedures[pattern]; ok {
		p.handler = handler
		return
	}
	m.fallback.Handle(pattern, handler)
}
