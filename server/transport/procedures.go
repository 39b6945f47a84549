// Package transport protects a connect-go handler from clients that stop
// taking part, and makes its streams cheap on net/http: deadlines within
// bounds, idle and stalled streams cut off, streams ended at drain, flushes
// coalesced, and bidirectional calls over HTTP/1 answered clearly. The
// outermost layer, [Stack.Classify], works out once what each request is (a
// [Call]: its procedure's shape from the table of procedures registered on
// the connect.Server, its protocol, codec and timeout), and every rule reads
// that.
//
// # How a call is guarded
//
// Two halves meet in every streaming call; unary calls need only the first
// step and the call guard's deadline.
//
//  1. The progress guard (progress.go), outermost of the HTTP handlers,
//     wraps the request body and the response writer of every request. It
//     watches reads and writes, each with one timer that ticks four times a
//     timeout period while they go on: a read that waits past the stream
//     idle timeout, or a write that makes no progress for the write timeout,
//     is cut off through the request's read or write deadline, at most a
//     quarter of the timeout late. For a stream it puts itself in the
//     request's context.
//  2. The call guard (calls.go), a connect-go interceptor, gives the call
//     its deadline: the one asked for, capped at the largest allowed, or the
//     default. For a stream it finds the progress guard in the context,
//     tells it to end reads at that deadline (a handler blocked in Receive
//     would not notice its context), and registers the stream so that a
//     drain can cancel it, cut its reads off at once and its writes after a
//     grace period.
//  3. When the handler returns with an error, the call guard reads why from
//     the guard's state and answers with the code that says it: unavailable
//     for a drain, deadline_exceeded for an idle client or a deadline.
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
