package conformance

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"connectrpc.com/connect"

	"github.com/routeguide/routeguide/server/transport"
)

// askedDeadline is an interceptor that records the deadline a call arrived
// with, so that the service can echo the timeout its client asked for
// rather than one a later interceptor set.
type askedDeadline struct{}

type askedDeadlineKey struct{}

type queryKey struct{}

func withAskedDeadline(ctx context.Context, header http.Header) context.Context {
	deadline, ok := ctx.Deadline()
	// The transport gives unary calls a deadline before any interceptor
	// runs, whether they ask for one or not.
	if _, asked := transport.AskedTimeout(header); !ok || !asked {
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

func (askedDeadline) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		return next(withAskedDeadline(ctx, req.Header()), req)
	}
}

func (askedDeadline) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (askedDeadline) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		return next(withAskedDeadline(ctx, conn.RequestHeader()), conn)
	}
}

// withQuery puts the query parameters of Connect GET requests in their
// context: connect-go does not show them to handlers, and the service
// echoes them.
func withQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			r = r.WithContext(context.WithValue(r.Context(), queryKey{}, r.URL.Query()))
		}
		next.ServeHTTP(w, r)
	})
}

// queryFrom returns the query parameters of a Connect GET request, or nil.
func queryFrom(ctx context.Context) url.Values {
	q, _ := ctx.Value(queryKey{}).(url.Values)
	return q
}
