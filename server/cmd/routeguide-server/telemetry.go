package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprometheus "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/routeguide/routeguide/server"
)

// telemetry holds the OpenTelemetry providers the server reports to: a
// meter provider with the admin listener, a tracer provider when the OTEL_
// variables ask for an exporter. One that is off costs nothing.
type telemetry struct {
	serverOptions  []server.Option // make a server report to the providers
	metricsHandler http.Handler    // serves the meter provider's metrics to Prometheus
	shutdowns      []func(context.Context) error
}

// newTelemetry sets up metrics when withMetrics is true, for Prometheus to
// scrape from a registry of their own, and tracing when the standard OTEL_
// environment variables ask for an OTLP exporter. The OTLP exporter reads
// its endpoint, headers and the like from the process's environment. The
// caller should call shutdown when finished.
func newTelemetry(ctx context.Context, withMetrics bool, getenv func(string) string, logger *slog.Logger) (*telemetry, error) {
	exporter, err := newSpanExporter(ctx, getenv)
	if err != nil {
		return nil, err
	}
	if !withMetrics && exporter == nil {
		return &telemetry{}, nil
	}
	// OpenTelemetry reports failures, such as a collector it cannot reach,
	// through a process-wide handler; send them to the server's log.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("opentelemetry", "error", err)
	}))
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the name.
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName("routeguide-server")),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("opentelemetry resource: %w", err)
	}
	t := &telemetry{}
	if exporter != nil {
		// The sampler follows OTEL_TRACES_SAMPLER; by default it keeps the
		// caller's decision, and every trace that starts here.
		tracerProvider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
		t.serverOptions = append(t.serverOptions, server.WithTracerProvider(tracerProvider))
		t.shutdowns = append(t.shutdowns, tracerProvider.Shutdown)
	}
	if withMetrics {
		registry := prometheus.NewRegistry()
		registry.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reader, err := otelprometheus.New(otelprometheus.WithRegisterer(registry))
		if err != nil {
			return nil, errors.Join(fmt.Errorf("prometheus exporter: %w", err), t.shutdown(ctx))
		}
		meterProvider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))
		t.serverOptions = append(t.serverOptions, server.WithMeterProvider(meterProvider))
		t.shutdowns = append(t.shutdowns, meterProvider.Shutdown)
		t.metricsHandler = promhttp.HandlerFor(registry, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
			Registry: registry,
		})
	}
	return t, nil
}

// shutdown sends the spans not yet exported and stops the providers.
func (t *telemetry) shutdown(ctx context.Context) error {
	var errs []error
	for _, shutdown := range t.shutdowns {
		errs = append(errs, shutdown(ctx))
	}
	return errors.Join(errs...)
}

// newSpanExporter returns the OTLP span exporter that the standard OTEL_
// variables ask for, or nil. Unlike the specification's default, tracing is
// off unless OTEL_TRACES_EXPORTER is otlp or an OTLP endpoint is set, so a
// server started without them sends nothing anywhere.
func newSpanExporter(ctx context.Context, getenv func(string) string) (sdktrace.SpanExporter, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return nil, nil
	}
	switch name := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); name {
	case "none":
		return nil, nil
	case "":
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return nil, nil
		}
	case "otlp":
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: want otlp or none", name)
	}
	setting := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	protocol := getenv(setting)
	if protocol == "" {
		setting = "OTEL_EXPORTER_OTLP_PROTOCOL"
		protocol = getenv(setting)
	}
	var exporter sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		exporter, err = otlptracehttp.New(ctx)
	case "grpc":
		exporter, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("%s=%q: want http/protobuf or grpc", setting, protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	return exporter, nil
}
