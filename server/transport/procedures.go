// Package transport protects a connect-go handler from clients that stop
// taking part, and makes its streams cheap on net/http: deadlines within
// bounds, idle and stalled streams cut off, streams ended at drain, flushes
// coalesced, and bidirectional calls over HTTP/1 answered clearly. The
// outermost layer, [Stack.Classify], works out once what each request is (a
// [Call]: its procedure's shape from the table of procedures registered on
// the connect.Server, its protocol, codec and timeout), and every rule reads
// that.
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
// Between the two, flush coalescing (flush.go) merges the flushes of
// streamed responses, and the HTTP/1 rule (http1.go) answers bidirectional
// calls that HTTP/1.1 cannot carry.
package transport

import (
	"connectrpc.com/connect/v2"
)

// Procedures maps the path of every procedure a server mounts, such as
// "/routeguide.RouteGuide/GetFeature", to its stream type.
type Procedures map[string]connect.StreamType

// ProceduresOf returns the table of every procedure registered on server.
func ProceduresOf(server *connect.Server) Procedures {
	table := make(Procedures)
	for spec := range server.Specs() {
		table[spec.Procedure] = spec.StreamType
	}
	return table
}

// Lookup returns the stream type of the procedure at path, and whether the
// table has it.
func (p Procedures) Lookup(path string) (connect.StreamType, bool) {
	t, ok := p[path]
	return t, ok
}
