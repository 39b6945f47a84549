package server_test

import (
	"context"
	"log/slog"
	"testing"

	"connectrpc.com/connect/v2"
	"connectrpc.com/otelconnect"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
)

func TestTracingContinuesClientTrace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		protocol client.Protocol
		call     func(context.Context, *client.Client) error
		want     map[attribute.Key]string
	}{{
		name:     "unary",
		protocol: client.ProtocolConnect,
		call: func(ctx context.Context, c *client.Client) error {
			_, err := c.GetFeature(ctx, eiffelTower)
			return err
		},
		want: map[attribute.Key]string{
			"rpc.system.name":          "connectrpc",
			"rpc.method":               "routeguide.RouteGuide/GetFeature",
			"rpc.response.status_code": "OK",
		},
	}, {
		name:     "unary error",
		protocol: client.ProtocolGRPC,
		call: func(ctx context.Context, c *client.Client) error {
			if _, err := c.GetFeature(ctx, &routeguide.Point{Latitude: 910000000}); connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Errorf("GetFeature: %v, want invalid_argument", err)
			}
			return nil
		},
		want: map[attribute.Key]string{
			"rpc.system.name":          "grpc",
			"rpc.method":               "routeguide.RouteGuide/GetFeature",
			"rpc.response.status_code": "INVALID_ARGUMENT",
		},
	}, {
		name:     "server stream",
		protocol: client.ProtocolGRPCWeb,
		call: func(ctx context.Context, c *client.Client) error {
			rectangle := &routeguide.Rectangle{Lo: eiffelTower, Hi: eiffelTower}
			for _, err := range c.ListFeatures(ctx, rectangle) {
				if err != nil {
					return err
				}
			}
			return nil
		},
		want: map[attribute.Key]string{
			"rpc.system.name":          "grpc",
			"rpc.method":               "routeguide.RouteGuide/ListFeatures",
			"rpc.response.status_code": "OK",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			serverSpans := tracetest.NewInMemoryExporter()
			serverTracing := sdktrace.NewTracerProvider(sdktrace.WithSyncer(serverSpans))
			logs := &recordingHandler{}
			ts := routeguidetest.NewRouteGuide(t, dataset.Default(),
				server.WithTracerProvider(serverTracing), server.WithLogger(slog.New(logs)))

			// The client traces its calls too, and sends a traceparent header.
			clientSpans := tracetest.NewInMemoryExporter()
			clientTracing := sdktrace.NewTracerProvider(sdktrace.WithSyncer(clientSpans))
			clientOtel, err := otelconnect.NewClientInterceptor(
				otelconnect.WithTracerProvider(clientTracing),
				otelconnect.WithPropagator(propagation.TraceContext{}),
				otelconnect.WithoutMetrics())
			if err != nil {
				t.Fatal(err)
			}
			c := newProtocolClient(t, ts.URL, client.WithProtocol(tt.protocol),
				client.WithInterceptors(clientOtel))
			if err := tt.call(t.Context(), c); err != nil {
				t.Fatalf("call: %v", err)
			}

			got := serverSpans.GetSpans()
			if len(got) != 1 {
				t.Fatalf("got %d server spans, want 1", len(got))
			}
			span := got[0]
			if span.SpanKind != trace.SpanKindServer {
				t.Errorf("span kind = %v, want server", span.SpanKind)
			}
			if span.Name != tt.want["rpc.method"] {
				t.Errorf("span name = %q, want %q", span.Name, tt.want["rpc.method"])
			}
			attrs := make(map[attribute.Key]string)
			for _, kv := range span.Attributes {
				attrs[kv.Key] = kv.Value.Emit()
			}
			for k, want := range tt.want {
				if attrs[k] != want {
					t.Errorf("span attribute %s = %q, want %q (all: %v)", k, attrs[k], want, attrs)
				}
			}

			clientGot := clientSpans.GetSpans()
			if len(clientGot) != 1 {
				t.Fatalf("got %d client spans, want 1", len(clientGot))
			}
			caller := clientGot[0].SpanContext
			if span.SpanContext.TraceID() != caller.TraceID() {
				t.Errorf("server trace id = %v, want the client's %v", span.SpanContext.TraceID(), caller.TraceID())
			}
			if span.Parent.SpanID() != caller.SpanID() || !span.Parent.IsRemote() {
				t.Errorf("server span parent = %v, want the client's remote span %v", span.Parent.SpanID(), caller.SpanID())
			}
			if _, record := onlyRecord(t, logs); record["trace_id"] != caller.TraceID().String() {
				t.Errorf("access log trace_id = %q, want %v", record["trace_id"], caller.TraceID())
			}
		})
	}
}

func TestTracingStartsTraceWithoutCaller(t *testing.T) {
	t.Parallel()
	spans := tracetest.NewInMemoryExporter()
	ts := routeguidetest.NewRouteGuide(t, dataset.Default(),
		server.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))))
	if _, err := newProtocolClient(t, ts.URL).GetFeature(t.Context(), eiffelTower); err != nil {
		t.Fatalf("GetFeature: %v", err)
	}
	got := spans.GetSpans()
	if len(got) != 1 {
		t.Fatalf("got %d spans, want 1", len(got))
	}
	if !got[0].SpanContext.IsValid() || got[0].Parent.IsValid() {
		t.Errorf("span %v with parent %v, want a valid root span", got[0].SpanContext, got[0].Parent)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	ts := routeguidetest.NewRouteGuide(t, dataset.Default(),
		server.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	c := newProtocolClient(t, ts.URL)
	ctx := t.Context()
	for range 2 {
		if _, err := c.GetFeature(ctx, eiffelTower); err != nil {
			t.Fatalf("GetFeature: %v", err)
		}
	}
	if _, err := c.GetFeature(ctx, &routeguide.Point{Latitude: 910000000}); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("GetFeature: %v, want invalid_argument", err)
	}

	// Three notes at two locations, on a chat that stays open while the
	// metrics are collected.
	chat := c.RouteChat(ctx)
	elsewhere := &routeguide.Point{Latitude: 1, Longitude: 1}
	replies := 0
	for _, p := range []*routeguide.Point{eiffelTower, elsewhere, eiffelTower} {
		if err := chat.Send(&routeguide.RouteNote{Location: p, Message: "hello"}); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	for replies < 4 { // 1, 1, then 2: both notes at the Eiffel Tower
		if _, err := chat.Receive(); err != nil {
			t.Fatalf("Receive: %v", err)
		}
		replies++
	}
	open := collect(t, reader)
	chatMethod := attribute.String("rpc.method", "routeguide.RouteGuide/RouteChat")
	for _, tt := range []struct {
		name  string
		attrs []attribute.KeyValue
		want  int64
	}{
		{"routeguide.features", nil, int64(len(dataset.Default()))},
		{"routeguide.notes", nil, 3},
		{"routeguide.notes.locations", nil, 2},
		{"routeguide.streams.open", []attribute.KeyValue{chatMethod}, 1},
	} {
		if got := int64Point(t, open, tt.name, tt.attrs...); got != tt.want {
			t.Errorf("%s%v = %d, want %d", tt.name, tt.attrs, got, tt.want)
		}
	}

	if err := chat.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	for _, err := range chat.Replies() {
		if err != nil {
			t.Fatalf("RouteChat: %v", err)
		}
	}
	closed := collect(t, reader)
	if got := int64Point(t, closed, "routeguide.streams.open", chatMethod); got != 0 {
		t.Errorf("routeguide.streams.open after the chat = %d, want 0", got)
	}
	getFeature := attribute.String("rpc.method", "routeguide.RouteGuide/GetFeature")
	for _, tt := range []struct {
		attrs []attribute.KeyValue
		want  uint64
	}{
		{[]attribute.KeyValue{getFeature, attribute.String("rpc.response.status_code", "OK")}, 2},
		{[]attribute.KeyValue{getFeature, attribute.String("rpc.response.status_code", "INVALID_ARGUMENT")}, 1},
		{[]attribute.KeyValue{chatMethod, attribute.String("rpc.response.status_code", "OK")}, 1},
	} {
		if got := histogramCount(t, closed, "rpc.server.call.duration", tt.attrs...); got != tt.want {
			t.Errorf("rpc.server.call.duration count%v = %d, want %d", tt.attrs, got, tt.want)
		}
	}
}

func collect(t *testing.T, reader sdkmetric.Reader) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	return rm
}

// findMetric returns the metric named name, failing the test if there is none.
func findMetric(t *testing.T, rm metricdata.ResourceMetrics, name string) metricdata.Aggregation {
	t.Helper()
	for _, scope := range rm.ScopeMetrics {
		for _, m := range scope.Metrics {
			if m.Name == name {
				return m.Data
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

// hasAttrs reports whether set has every one of attrs.
func hasAttrs(set attribute.Set, attrs []attribute.KeyValue) bool {
	for _, want := range attrs {
		if got, ok := set.Value(want.Key); !ok || got != want.Value {
			return false
		}
	}
	return true
}

// int64Point returns the value of the int64 gauge or sum named name at the
// point with attrs, or 0 if it has no such point.
func int64Point(t *testing.T, rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	var points []metricdata.DataPoint[int64]
	switch data := findMetric(t, rm, name).(type) {
	case metricdata.Gauge[int64]:
		points = data.DataPoints
	case metricdata.Sum[int64]:
		points = data.DataPoints
	default:
		t.Fatalf("metric %s is a %T, want an int64 gauge or sum", name, data)
	}
	for _, p := range points {
		if hasAttrs(p.Attributes, attrs) {
			return p.Value
		}
	}
	return 0
}

// histogramCount returns the count of the float64 histogram named name at
// the point with attrs, or 0 if it has no such point.
func histogramCount(t *testing.T, rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) uint64 {
	t.Helper()
	data, ok := findMetric(t, rm, name).(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("metric %s is not a float64 histogram", name)
	}
	for _, p := range data.DataPoints {
		if hasAttrs(p.Attributes, attrs) {
			return p.Count
		}
	}
	return 0
}
