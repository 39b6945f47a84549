package conformance

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/server/transport"
)

// askedDeadline is an interceptor that records the deadline a call arrived
// with, so that the service can echo the timeout its client asked for
// rather than one a later interceptor set.
type askedDeadline struct{}

type askedDeadlineKey struct{}

func withAskedDeadline(ctx context.Context, header http.Header) context.Context {
	deadline, ok := ctx.Deadline()
	// The transport gives unary calls a deadline before any interceptor
	// runs, whether they ask for one or not; its classification of the
	// call says whether it asked. Outside the stack, the header does.
	asked := false
	if call, classified := transport.CallOf(ctx); classified {
		asked = call.AskedTimeout
	} else {
		_, asked = transport.AskedTimeout(header)
	}
	if !ok || !asked {
		return ctx
	}
	return context.WithValue(ctx, askedDeadlineKey{}, deadline)
}

// timeoutMillis returns the time left until the deadline the call arrived
// with, in milliseconds, or nil if it asked for none.
func timeoutMillis(ctx context.Context) *int64 {
	deadline, ok := ctx.Value(askedDeadlineKey{}).(time.Time)
	if !ok {
		return nil
	}
	ms := time.Until(deadline).Milliseconds()
	return &ms
}

// intercept records the deadline of every call.
func (askedDeadline) intercept(next connect.ServerFunc) connect.ServerFunc {
	return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
		return next(withAskedDeadline(ctx, requestHeader(ctx)), spec, stream)
	}
}

// requestHeader returns the request headers of the call of ctx.
func requestHeader(ctx context.Context) http.Header {
	h := make(http.Header)
	if info, ok := connect.CallInfoForServerContext(ctx); ok {
		for name, values := range info.RequestHeader().All() {
			h[name] = values
		}
	}
	return h
}

// queryFrom returns the query parameters of a Connect GET request, or nil.
func queryFrom(ctx context.Context) url.Values {
	if info, ok := connecthttp.ServerInfoForContext(ctx); ok && info.HTTPMethod() == http.MethodGet {
		return info.HTTPGetQueryParams()
	}
	return nil
}
