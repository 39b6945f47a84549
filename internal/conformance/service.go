// Package conformance implements the ConformanceService of the Connect
// conformance suite (connectrpc.com/conformance), whose reference client
// then tests, call by call, how a server stack carries the Connect, gRPC and
// gRPC-Web protocols.
package conformance

import (
	"net/http"

	"connectrpc.com/connect"

	"github.com/routeguide/routeguide/gen/connectrpc/conformance/v1/conformancev1connect"
)

// service answers each call as its request's response definition says, and
// echoes what it saw of the request. Its Unimplemented method is left to the
// generated code, which answers unimplemented as the suite expects.
type service struct {
	conformancev1connect.UnimplementedConformanceServiceHandler
}

// NewHandler returns the path and the handler of the ConformanceService,
// served with options. Whatever deadline the options' interceptors give a
// call, the service echoes the timeout its client asked for, as the suite
// checks.
func NewHandler(options ...connect.HandlerOption) (string, http.Handler) {
	path, h := conformancev1connect.NewConformanceServiceHandler(&service{},
		// First, so that it sees the deadline before any other interceptor
		// bounds it or sets a default.
		connect.WithInterceptors(askedDeadline{}),
		connect.WithHandlerOptions(options...))
	return path, withQuery(h)
}
