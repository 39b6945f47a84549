// Package transport protects connect-go's handlers from clients that stop
// taking part or make mistakes, and makes their streams cheap on net/http:
// deadlines within bounds, idle and stalled streams cut off, streams ended
// at drain, calls connect-go cannot serve answered clearly, and flushes
// coalesced. Its outermost layer, [Stack.Classify], works out once what each
// request is (a [Call]: its entry in the table of procedures, its protocol,
// codec and timeout), which every rule reads, and starts the call's life
// (callLife, lifecycle.go), the one owner of its deadline, its idle and
// stall cut-offs (progress.go), its drain and the code it ends with. Inside
// it, the admission ([Stack.Handler], admission.go) answers the calls
// connect-go cannot serve and calls the procedure's handler, with the
// flushes of streamed responses coalesced (flush.go); the interceptor
// ([Stack.Interceptor]) registers streams for drain and gives a cut-off
// call its code. docs/architecture.md shows the whole path in its order.
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

	handler http.Handler // connect-go's, mounted through [Procedures.Mux]
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
