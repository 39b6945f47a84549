package observe

import (
	"fmt"

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
