package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// observability is what the options of this file configure. Its zero value
// observes nothing and costs nothing.
type observability struct {
	logger         *slog.Logger
	meterProvider  metric.MeterProvider
	tracerProvider trace.TracerProvider
}

// WithLogger logs one access record per RPC to logger, at a level that
// follows who is at fault: calls that succeed or fail through the client's
// mistake at info (health checks at debug), deadline_exceeded, unavailable
// and unimplemented at warn, and unknown, internal and data_loss at error
// with the cause. A handler that panics is logged at error with its stack,
// and the caller gets internal. By default the Server logs nothing.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) { c.observe.logger = logger })
}

// WithMeterProvider records metrics with provider: the RPC metrics of the
// OpenTelemetry semantic conventions (calls and their duration by method
// and status code) and the service's own, which docs/operations.md lists.
// The provider keeps a reference to the Server's state for as long as it
// lives. By default the Server records no metrics.
func WithMeterProvider(provider metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.observe.meterProvider = provider })
}

// WithTracerProvider starts a server span with provider for every RPC. A
// span continues the trace of a W3C traceparent header sent with the call,
// so that a trace crosses from the caller into this service; put a proxy
// that strips the header in front of the Server if its callers must not
// choose the trace. By default the Server starts no spans.
func WithTracerProvider(provider trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.observe.tracerProvider = provider })
}

// handlerOptions returns the handler options that observe every RPC of
// service, or none when nothing is to be observed. The interceptors run
// outermost first: the span is open while the access log and the stream
// gauge look at the call, so log records carry the trace id.
func (o *observability) handlerOptions(service *routeGuide) ([]connect.HandlerOption, error) {
	var interceptors []connect.Interceptor
	if o.meterProvider != nil || o.tracerProvider != nil {
		meterProvider, tracerProvider := o.meterProvider, o.tracerProvider
		if meterProvider == nil {
			meterProvider = metricnoop.NewMeterProvider()
		}
		if tracerProvider == nil {
			tracerProvider = tracenoop.NewTracerProvider()
		}
		otel, err := otelconnect.NewInterceptor(
			otelconnect.WithMeterProvider(meterProvider),
			otelconnect.WithTracerProvider(tracerProvider),
			otelconnect.WithPropagator(propagation.TraceContext{}),
			otelconnect.WithTrustRemote(),
		)
		if err != nil {
			return nil, fmt.Errorf("rpc telemetry: %w", err)
		}
		interceptors = append(interceptors, otel)
	}
	if o.logger != nil {
		interceptors = append(interceptors, &accessLog{logger: o.logger})
	}
	if o.meterProvider != nil {
		metrics, err := newServiceMetrics(o.meterProvider, service)
		if err != nil {
			return nil, fmt.Errorf("service metrics: %w", err)
		}
		service.notes.metrics = metrics
		interceptors = append(interceptors, metrics)
	}
	var options []connect.HandlerOption
	if len(interceptors) > 0 {
		options = append(options, connect.WithInterceptors(interceptors...))
	}
	return options, nil
}

// recoverPanic turns a panic in a handler into an internal error for that
// call alone; the details go to the log (the default logger when the Server
// has none), never to the caller.
func (o *observability) recoverPanic(ctx context.Context, spec connect.Spec, _ http.Header, value any) error {
	logger := o.logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.LogAttrs(ctx, slog.LevelError, "rpc handler panicked",
		slog.String("procedure", spec.Procedure),
		slog.Any("panic", value),
		slog.String("stack", string(debug.Stack())))
	return connect.NewError(connect.CodeInternal, errors.New("internal error"))
}
