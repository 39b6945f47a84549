package server

import (
	"context"
	"strings"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// meterName is the instrumentation scope of the service's own metrics.
const meterName = "github.com/routeguide/routeguide/server"

// serviceMetrics records what the RPC metrics cannot see: the state of the
// service and the streams open on it. It is an interceptor that counts
// streams. A nil *serviceMetrics records nothing, so code that reports to it
// need not check whether metrics are on.
type serviceMetrics struct {
	openStreams metric.Int64UpDownCounter
	rejected    metric.Int64Counter
	evicted     metric.Int64Counter
}

var _ connect.Interceptor = (*serviceMetrics)(nil)

// newServiceMetrics creates the service's instruments with provider. The
// gauges read service when the provider collects, under the notes store's
// lock, so they cost nothing between scrapes.
func newServiceMetrics(provider metric.MeterProvider, service *routeGuide) (*serviceMetrics, error) {
	meter := provider.Meter(meterName)
	var m serviceMetrics
	var err error
	if m.openStreams, err = meter.Int64UpDownCounter("routeguide.streams.open",
		metric.WithUnit("{stream}"),
		metric.WithDescription("Streaming RPCs in progress, by method.")); err != nil {
		return nil, err
	}
	if m.rejected, err = meter.Int64Counter("routeguide.notes.rejected",
		metric.WithUnit("{note}"),
		metric.WithDescription("Notes RouteChat turned away because the notes store was full, by reason.")); err != nil {
		return nil, err
	}
	if m.evicted, err = meter.Int64Counter("routeguide.notes.evicted",
		metric.WithUnit("{note}"),
		metric.WithDescription("Stored notes dropped to make room for newer ones, by reason.")); err != nil {
		return nil, err
	}
	features, err := meter.Int64ObservableGauge("routeguide.features",
		metric.WithUnit("{feature}"),
		metric.WithDescription("Features loaded from the dataset."))
	if err != nil {
		return nil, err
	}
	notes, err := meter.Int64ObservableGauge("routeguide.notes",
		metric.WithUnit("{note}"),
		metric.WithDescription("Notes RouteChat holds, at every location."))
	if err != nil {
		return nil, err
	}
	locations, err := meter.Int64ObservableGauge("routeguide.notes.locations",
		metric.WithUnit("{location}"),
		metric.WithDescription("Distinct locations that have at least one note."))
	if err != nil {
		return nil, err
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		stats := service.notes.stats()
		o.ObserveInt64(features, int64(service.features.len()))
		o.ObserveInt64(notes, int64(stats.notes))
		o.ObserveInt64(locations, int64(stats.locations))
		return nil
	}, features, notes, locations)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// noteRejected counts a note the store turned away for reason, a short
// snake_case word such as "store_full" that becomes the reason label.
func (m *serviceMetrics) noteRejected(reason string) {
	if m == nil {
		return
	}
	m.rejected.Add(context.Background(), 1,
		metric.WithAttributes(attribute.String("reason", reason)))
}

// notesEvicted counts n stored notes the store dropped for reason, a short
// snake_case word such as "location_full".
func (m *serviceMetrics) notesEvicted(reason string, n int) {
	if m == nil {
		return
	}
	m.evicted.Add(context.Background(), int64(n),
		metric.WithAttributes(attribute.String("reason", reason)))
}

func (m *serviceMetrics) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return next
}

func (m *serviceMetrics) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (m *serviceMetrics) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		// The method label has the form of otelconnect's rpc.method, so the
		// two join.
		method := metric.WithAttributeSet(attribute.NewSet(
			attribute.String("rpc.method", strings.TrimPrefix(conn.Spec().Procedure, "/"))))
		m.openStreams.Add(ctx, 1, method)
		defer m.openStreams.Add(context.WithoutCancel(ctx), -1, method)
		return next(ctx, conn)
	}
}
