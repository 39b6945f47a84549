// Package observe records what a server does: one access record per RPC,
// the service's own metrics beside the RPC metrics of OpenTelemetry, traces,
// and the panics of handlers. Each part is a connect-go interceptor or
// option that the server is built with, and costs nothing when it is off.
package observe

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/trace"
)

// accessLog is an interceptor that logs one record per RPC once it ends.
type accessLog struct {
	logger *slog.Logger
}

// AccessLog returns an interceptor that logs one record per RPC to logger
// once it ends, at a level that follows who is at fault: calls that succeed
// or fail through the client's mistake at info (health checks at debug),
// deadline_exceeded, unavailable and unimplemented at warn, and unknown,
// internal and data_loss at error.
func AccessLog(logger *slog.Logger) connect.Interceptor {
	return &accessLog{logger: logger}
}

var _ connect.Interceptor = (*accessLog)(nil)

func (a *accessLog) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := startOf(ctx)
		res, err := next(ctx, req)
		a.log(ctx, req.Spec(), req.Peer(), req.Header(), start, err, nil)
		return res, err
	}
}

func (a *accessLog) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (a *accessLog) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := startOf(ctx)
		counted := &countingConn{StreamingHandlerConn: conn}
		err := next(ctx, counted)
		a.log(ctx, conn.Spec(), conn.Peer(), conn.RequestHeader(), start, err, counted)
		return err
	}
}

// log writes the record of an RPC that started at start and ended with err.
// Streams pass the count of their messages; unary calls pass nil.
func (a *accessLog) log(ctx context.Context, spec connect.Spec, peer connect.Peer, header http.Header, start time.Time, err error, stream *countingConn) {
	code := "ok"
	if err != nil {
		code = connect.CodeOf(err).String()
	}
	level := accessLevel(ctx, spec.Procedure, err)
	if level == slog.LevelInfo && stream != nil &&
		(errors.Is(ctx.Err(), context.Canceled) || connect.CodeOf(err) == connect.CodeCanceled) &&
		stream.received.Load() == 0 && stream.sent.Load() == 0 {
		// A call its client cancelled before a single message, as a
		// rapid-reset attack does thousands of times a second, is worth
		// a record only when debugging: streams, and unary calls whose
		// request never arrived, which Calls replays as streams.
		level = slog.LevelDebug
	}
	if !a.logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("procedure", spec.Procedure),
		slog.String("protocol", peer.Protocol),
		slog.String("codec", codecOf(peer, header)),
		slog.String("peer", peer.Addr),
		slog.String("code", code),
		slog.Duration("duration", time.Since(start)),
	)
	if stream != nil {
		attrs = append(attrs,
			slog.Int64("received", stream.received.Load()),
			slog.Int64("sent", stream.sent.Load()))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
	}
	a.logger.LogAttrs(ctx, level, "rpc", attrs...)
}

// accessLevel says how loudly to log an RPC that ended with err: error when
// the server is at fault and someone must act, warn when it may be
// overloaded or missing something, and info when it did its job, even if
// that was to turn away a bad call, so clients cannot flood the log above
// info. Health checks, which probes make all day, log at debug.
func accessLevel(ctx context.Context, procedure string, err error) slog.Level {
	if err == nil {
		if strings.HasPrefix(procedure, "/grpc.health.v1.Health/") {
			return slog.LevelDebug
		}
		return slog.LevelInfo
	}
	// Once the client has gone away or its deadline has passed, whatever
	// the handler saw is no fault of the server's.
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return slog.LevelInfo
	case ctx.Err() != nil:
		return slog.LevelWarn
	}
	// Some of the caller's mistakes the protocols answer with internal,
	// such as a message flagged as compressed without an encoding. A call
	// refused before its handler ran is the caller's doing too: nothing of
	// the server's had run yet but the reading of its request.
	var fault interface{ CallerFault() bool }
	callersFault := errors.As(err, &fault) && fault.CallerFault() || refusalFrom(ctx) != nil
	switch connect.CodeOf(err) {
	case connect.CodeUnknown, connect.CodeInternal, connect.CodeDataLoss:
		if callersFault {
			return slog.LevelInfo
		}
		return slog.LevelError
	case connect.CodeDeadlineExceeded, connect.CodeUnavailable, connect.CodeUnimplemented:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// codecOf returns the name of the codec a call's messages are encoded with,
// such as proto or json, from its Content-Type, or for a Connect GET from
// its query.
func codecOf(peer connect.Peer, header http.Header) string {
	contentType := header.Get("Content-Type")
	if contentType == "" {
		return peer.Query.Get("encoding")
	}
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	switch mediaType {
	case "application/grpc", "application/grpc-web":
		return "proto" // gRPC's default
	}
	for _, prefix := range []string{"application/grpc+", "application/grpc-web+", "application/connect+", "application/"} {
		if codec, ok := strings.CutPrefix(mediaType, prefix); ok {
			return codec
		}
	}
	return mediaType
}

// countingConn counts the messages a stream receives and sends.
type countingConn struct {
	connect.StreamingHandlerConn
	received, sent atomic.Int64 // atomic: Send and Receive may run on different goroutines
}

func (c *countingConn) Receive(msg any) error {
	err := c.StreamingHandlerConn.Receive(msg)
	if err == nil {
		c.received.Add(1)
	}
	return err
}

func (c *countingConn) Send(msg any) error {
	err := c.StreamingHandlerConn.Send(msg)
	if err == nil {
		c.sent.Add(1)
	}
	return err
}
