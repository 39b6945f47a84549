// Package conformance implements the ConformanceService of the Connect
// conformance suite (connectrpc.com/conformance), whose reference client
// then tests, call by call, how a server stack carries the Connect, gRPC and
// gRPC-Web protocols.
package conformance

import (
	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/gen/connectrpc/conformance/v1/conformancev1connect"
)

// service answers each call as its request's response definition says, and
// echoes what it saw of the request. Its Unimplemented method is left to the
// generated code, which answers unimplemented as the suite expects.
type service struct {
	conformancev1connect.UnimplementedConformanceServiceHandler
}

// Register registers the ConformanceService on server. Whatever deadline
// server's interceptors give a call, the service echoes the timeout its
// client asked for, as the suite checks: put [AskedDeadline] before them.
func Register(server *connect.Server) {
	conformancev1connect.RegisterConformanceServiceHandler(server, &service{})
}

// AskedDeadline is the interceptor that notes the deadline a call arrived
// with, before any other interceptor bounds it or sets a default.
func AskedDeadline() connect.ServerInterceptor {
	return askedDeadline{}.intercept
}
