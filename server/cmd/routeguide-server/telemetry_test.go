package main

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector receives spans as an OpenTelemetry collector does, over OTLP
// with HTTP and protobuf.
type collector struct {
	mu    sync.Mutex // protects spans and resources
	spans []*tracepb.Span
	// service maps each span's trace id to the service.name of its resource.
	service map[string]string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
		http.Error(w, "want a protobuf POST to /v1/traces", http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		var service string
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, span := range ss.GetSpans() {
				c.spans = append(c.spans, span)
				c.service[hex.EncodeToString(span.GetTraceId())] = service
			}
		}
	}
	c.mu.Unlock()
	res, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(res)
}

// TestRunExportsTraces follows a trace from a caller through the server to
// a collector, configured as an operator would: with the standard OTEL_
// variables of the process's environment.
func TestRunExportsTraces(t *testing.T) {
	// Not parallel: it sets the process's environment, which the OTLP
	// exporter reads.
	c := &collector{service: make(map[string]string)}
	collectorServer := httptest.NewServer(c)
	defer collectorServer.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collectorServer.URL)
	t.Setenv("OTEL_SERVICE_NAME", "routeguide-test")
	t.Setenv("ROUTEGUIDE_ADDR", "127.0.0.1:0")
	t.Setenv("ROUTEGUIDE_LOG_FORMAT", "json")
	s := startRunWith(t, nil, os.Getenv)

	// A call as curl makes it, in a trace the caller started.
	const (
		traceID  = "4bf92f3577b34da6a3ce929d0e0e4736"
		parentID = "00f067aa0ba902b7"
	)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.addr+"/routeguide.RouteGuide/GetFeature",
		strings.NewReader(`{"latitude": 409146138, "longitude": -746188906}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Traceparent", "00-"+traceID+"-"+parentID+"-01")
	httpClient := &http.Client{Transport: &http.Transport{}}
	defer httpClient.CloseIdleConnections()
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GetFeature: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GetFeature: %s %s", res.Status, body)
	}
	// Shutting down sends the spans still buffered.
	if err := s.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.spans) != 1 {
		t.Fatalf("collector got %d spans, want 1", len(c.spans))
	}
	span := c.spans[0]
	if got := hex.EncodeToString(span.GetTraceId()); got != traceID {
		t.Errorf("trace id = %s, want the caller's %s", got, traceID)
	}
	if got := hex.EncodeToString(span.GetParentSpanId()); got != parentID {
		t.Errorf("parent span id = %s, want the caller's %s", got, parentID)
	}
	if span.GetName() != "routeguide.RouteGuide/GetFeature" || span.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("span %q of kind %v, want a server span routeguide.RouteGuide/GetFeature", span.GetName(), span.GetKind())
	}
	if got := c.service[traceID]; got != "routeguide-test" {
		t.Errorf("service.name = %q, want OTEL_SERVICE_NAME's routeguide-test", got)
	}
	// The access log names the trace, so a log line leads to it.
	found := false
	for _, r := range s.logs.records() {
		if r["msg"] == "rpc" && r["trace_id"] == traceID {
			found = true
		}
	}
	if !found {
		t.Errorf("no access record with trace_id %s", traceID)
	}
}

func TestTracingOffByDefault(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{
		{},
		{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
		{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"},
	} {
		exporter, err := newSpanExporter(t.Context(), func(name string) string { return env[name] })
		if err != nil || exporter != nil {
			t.Errorf("with %v: exporter %v, %v; want none", env, exporter, err)
		}
	}
	for _, env := range []map[string]string{
		{"OTEL_TRACES_EXPORTER": "otlp"},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
	} {
		exporter, err := newSpanExporter(t.Context(), func(name string) string { return env[name] })
		if err != nil || exporter == nil {
			t.Errorf("with %v: exporter %v, %v; want one", env, exporter, err)
			continue
		}
		if err := exporter.Shutdown(t.Context()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}
}
