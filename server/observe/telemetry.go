package observe

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"connectrpc.com/connect/v2"
	"connectrpc.com/otelconnect"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Telemetry returns otelconnect's interceptor, which records the RPC
// metrics of the OpenTelemetry semantic conventions with meterProvider and
// a server span per call with tracerProvider, continuing the trace of a W3C
// traceparent header. Either provider may be nil to record none of its kind.
func Telemetry(meterProvider metric.MeterProvider, tracerProvider trace.TracerProvider) (connect.ServerInterceptor, error) {
	if meterProvider == nil {
		meterProvider = metricnoop.NewMeterProvider()
	}
	if tracerProvider == nil {
		tracerProvider = tracenoop.NewTracerProvider()
	}
	otel, err := otelconnect.NewServerInterceptor(
		otelconnect.WithMeterProvider(meterProvider),
		otelconnect.WithTracerProvider(tracerProvider),
		otelconnect.WithPropagator(propagation.TraceContext{}),
		otelconnect.WithTrustRemote(),
	)
	if err != nil {
		return nil, fmt.Errorf("rpc telemetry: %w", err)
	}
	return otel, nil
}

// RecoverPanic returns the connect-go interceptor that turns a panic in a
// handler into an internal error for that call alone; the details go to
// logger (the default logger when nil), never to the caller. It goes
// innermost, so that every other interceptor sees the error.
func RecoverPanic(logger *slog.Logger) connect.ServerInterceptor {
	return func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) (err error) {
			defer func() {
				value := recover()
				if value == nil {
					return
				}
				if value == http.ErrAbortHandler {
					panic(value) // net/http's own way to abort a response
				}
				l := logger
				if l == nil {
					l = slog.Default()
				}
				l.LogAttrs(ctx, slog.LevelError, "rpc handler panicked",
					slog.String("procedure", spec.Procedure),
					slog.Any("panic", value),
					slog.String("stack", string(debug.Stack())))
				err = connect.NewError(connect.CodeInternal, "internal error")
			}()
			return next(ctx, spec, stream)
		}
	}
}
