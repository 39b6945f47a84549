// Package observe records what a server does: one access record per RPC
// and the panics of handlers ([Calls], little more than a deferred recover
// when no logger or meter is set), the service's own metrics beside
// OpenTelemetry's RPC metrics and traces ([Telemetry]); [Refusals] puts the
// calls the transport refuses before connect-go through the same
// interceptors.
package observe

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect/v2"
	"go.opentelemetry.io/otel/trace"
)

// Calls returns the connect-go interceptor that observes every call: it
// logs one record per call to logger once it ends, when logger is set, at a
// level that follows who is at fault ([accessLevel]), with the calls their
// clients cancel recorded at most once a second, with a count of the
// others; counts the streams open in metrics, when it is set; and turns a
// panic of the handler, or of the interceptors inside it, into internal for
// that call alone, logged with its stack to logger (the default logger when
// nil), never told to the caller. It goes inside the telemetry, so that
// spans and the RPC metrics see the internal error a panic becomes.
func Calls(logger *slog.Logger, metrics *Metrics) connect.ServerInterceptor {
	var cancelled *cancelledCalls
	if logger != nil {
		cancelled = &cancelledCalls{logger: logger}
	}
	return func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) (err error) {
			if metrics != nil && spec.StreamType != connect.StreamTypeUnary && refusalOf(ctx).err == nil {
				method := metrics.method(spec.Procedure)
				metrics.openStreams.Add(ctx, 1, method)
				defer metrics.openStreams.Add(context.WithoutCancel(ctx), -1, method)
			}
			var start time.Time
			var counted *countingStream
			if logger != nil {
				// A refused call began when its headers arrived, any other now.
				if start = refusalOf(ctx).start; start.IsZero() {
					start = time.Now()
				}
				counted = &countingStream{ServerStream: stream, Context: ctx}
				stream = counted
				if spec.StreamType&connect.StreamTypeServer != 0 {
					// A handler may write messages past its stream
					// ([SendsOf]), which it finds in its context.
					ctx = counted
				}
			}
			defer func() {
				if value := recover(); value != nil {
					err = recovered(ctx, logger, spec, value)
				}
				if logger != nil {
					logCall(ctx, logger, cancelled, spec, start, err, counted)
				}
			}()
			return next(ctx, spec, stream)
		}
	}
}

// recovered logs value, with which the handler of a call of spec
// panicked, and returns the error the call ends with.
func recovered(ctx context.Context, logger *slog.Logger, spec connect.Spec, value any) error {
	if value == http.ErrAbortHandler {
		panic(value) // net/http's own way to abort a response
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger.LogAttrs(ctx, slog.LevelError, "rpc handler panicked",
		slog.String("procedure", spec.Procedure),
		slog.Any("panic", value),
		slog.String("stack", string(debug.Stack())))
	return connect.NewError(connect.CodeInternal, "internal error")
}

// cancelledByClient reports whether the call ended because its client
// cancelled it. A call the server ended with a code of its own (a drain's
// unavailable, a cut-off's resource_exhausted) was not, even if its
// stream was reset once that end was written, which cancels its context
// too: a drain's cut-off of reads can do so.
func cancelledByClient(ctx context.Context, err error) bool {
	if err != nil && connect.CodeOf(err) == connect.CodeCanceled {
		return true
	}
	return errors.Is(ctx.Err(), context.Canceled) && (err == nil || connect.CodeOf(err) == connect.CodeUnknown)
}

// logCall writes the record of an RPC that started at start and ended with
// err, with the count of its messages.
func logCall(ctx context.Context, logger *slog.Logger, cancelled *cancelledCalls, spec connect.Spec, start time.Time, err error, stream *countingStream) {
	code := "ok"
	if err != nil {
		code = connect.CodeOf(err).String()
	}
	level := accessLevel(ctx, spec.Procedure, err)
	byClient := cancelledByClient(ctx, err)
	if level == slog.LevelInfo && stream.received.Load() == 0 && stream.sent.Load() == 0 && (err == nil || byClient) {
		// A call in which no message went either way, as a rapid-reset
		// attack makes thousands of a second, is worth a record only when
		// debugging: a stream its client cancelled or closed before a
		// single message (which of the two the server sees depends on the
		// client), or a unary call whose request never arrived.
		level = slog.LevelDebug
	}
	if !logger.Enabled(ctx, level) {
		return
	}
	var suppressed int64
	if level == slog.LevelInfo && byClient {
		var write bool
		if write, suppressed = cancelled.admit(time.Now()); !write {
			return
		}
	}
	var info connect.CallInfo
	if i, ok := connect.CallInfoForServerContext(ctx); ok {
		info = *i
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("procedure", spec.Procedure),
		slog.String("protocol", info.Protocol),
		slog.String("codec", info.Codec),
		slog.String("peer", info.PeerAddr),
		slog.String("code", code),
		slog.Duration("duration", time.Since(start)),
	)
	if spec.StreamType != connect.StreamTypeUnary {
		attrs = append(attrs,
			slog.Int64("received", stream.received.Load()),
			slog.Int64("sent", stream.sent.Load()))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	if suppressed > 0 {
		// Cancelled calls not recorded since the last one recorded.
		attrs = append(attrs, slog.Int64("cancelled_unrecorded", suppressed))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
	}
	logger.LogAttrs(ctx, level, "rpc", attrs...)
}

// accessLevel says how loudly to log an RPC that ended with err: error
// (unknown, internal, data_loss) when the server is at fault and someone
// must act, warn (deadline_exceeded, unavailable, unimplemented) when it
// may be overloaded or missing something, and info when it did its job,
// even if that was to turn away a bad call, so clients cannot flood the log
// above info. Health checks, which probes make all day, log at debug.
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
	case connect.CodeOf(err) == connect.CodeDeadlineExceeded:
		// Whether the client's connection went first or not.
		return slog.LevelWarn
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
	callersFault := errors.As(err, &fault) && fault.CallerFault() || refusalOf(ctx).err != nil
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

// countingStream counts the messages a stream receives and sends. It is
// also the context of its call's handler, for a response stream, so that
// the handler finds it with [SendsOf]: one allocation, and 16 bytes more a
// stream, rather than a context of its own (48 bytes, held by every open
// watch). Its Value answers for the key of SendsOf and asks the call's
// context for any other, so that the contexts derived from it find their
// parent's cancellation as from any other.
type countingStream struct {
	connect.ServerStream
	context.Context              // the call's
	received, sent  atomic.Int64 // atomic: Send and Receive may run on different goroutines
}

// Value returns the stream itself for the key of [SendsOf].
func (c *countingStream) Value(key any) any {
	if key == (sendsKey{}) {
		return c
	}
	return c.Context.Value(key)
}

func (c *countingStream) Receive(msg any) error {
	err := c.ServerStream.Receive(msg)
	if err == nil {
		c.received.Add(1)
	}
	return err
}

func (c *countingStream) Send(msg any) error {
	err := c.ServerStream.Send(msg)
	if err == nil {
		c.sent.Add(1)
	}
	return err
}

// Sends counts the messages a handler sends past its stream, writing
// their frames itself (as a watch of notes does), so
// that the access record's count of messages sent stays true. The zero
// Sends counts nothing.
type Sends struct {
	stream *countingStream
}

type sendsKey struct{}

// SendsOf returns where the handler of the call of ctx counts the messages
// it sends past its stream: nothing when no logger records them.
func SendsOf(ctx context.Context) Sends {
	stream, _ := ctx.Value(sendsKey{}).(*countingStream)
	return Sends{stream}
}

// Add counts n messages sent.
func (s Sends) Add(n int) {
	if s.stream != nil {
		s.stream.sent.Add(int64(n))
	}
}

// cancelledInterval is how often, at most, the access log writes the
// record of a call its client cancelled. A burst of HTTP/2 rapid resets
// cancels thousands of calls in a fraction of a second; a record for each
// would flood the log (20,000 lines from an 80 ms burst) at the attacker's
// command.
const cancelledInterval = time.Second

// cancelledCalls thins out the records of calls their clients cancelled:
// one record a second names a call and how many went unrecorded since the
// one before; a record of the count alone follows a burst.
type cancelledCalls struct {
	logger *slog.Logger

	mu         sync.Mutex // protects the fields below
	last       time.Time  // when a cancelled call was last recorded
	suppressed int64      // cancelled calls not recorded since
	pending    bool       // a timer will record the count
}

// admit reports whether to write the record of a call cancelled now, and
// how many cancelled calls went unrecorded before it.
func (c *cancelledCalls) admit(now time.Time) (write bool, suppressed int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.last) >= cancelledInterval {
		c.last = now
		suppressed, c.suppressed = c.suppressed, 0
		return true, suppressed
	}
	c.suppressed++
	if !c.pending {
		c.pending = true
		time.AfterFunc(cancelledInterval-now.Sub(c.last), c.flush)
	}
	return false, 0
}

// flush records how many cancelled calls went unrecorded, if any did since
// the last record.
func (c *cancelledCalls) flush() {
	c.mu.Lock()
	n := c.suppressed
	c.suppressed, c.pending = 0, false
	if n > 0 {
		c.last = time.Now()
	}
	c.mu.Unlock()
	if n > 0 {
		c.logger.LogAttrs(context.Background(), slog.LevelInfo, "rpcs cancelled by their clients, not recorded one by one",
			slog.Int64("count", n), slog.Duration("within", cancelledInterval))
	}
}
