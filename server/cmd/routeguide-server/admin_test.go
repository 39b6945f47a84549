package main

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect/v2"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// twoFeatures is a dataset for ROUTEGUIDE_FEATURES.
const twoFeatures = `[
  {"location": {"latitude": 407838351, "longitude": -746143763}, "name": "Patriots Path, Mendham, NJ 07945, USA"},
  {"location": {"latitude": 408122808, "longitude": -743999179}, "name": "101 New Jersey 10, Whippany, NJ 07981, USA"}
]`

var patriotsPath = &routeguide.Point{Latitude: 407838351, Longitude: -746143763}

// TestRunFromEnvironment starts the server as an operator would with
// environment variables only, makes calls of every shape, and scrapes the
// admin listener as Prometheus would.
func TestRunFromEnvironment(t *testing.T) {
	t.Parallel()
	features := filepath.Join(t.TempDir(), "features.json")
	if err := os.WriteFile(features, []byte(twoFeatures), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startRun(t, nil, map[string]string{
		"ROUTEGUIDE_ADDR":       "127.0.0.1:0",
		"ROUTEGUIDE_ADMIN_ADDR": "127.0.0.1:0",
		"ROUTEGUIDE_FEATURES":   features,
		"ROUTEGUIDE_LOG_FORMAT": "json",
	})
	if s.adminAddr == "" {
		t.Fatal("no admin listener")
	}
	ctx := t.Context()
	c := newRPCClient(t, s.addr)
	grpcClient := newRPCClient(t, s.addr, client.WithProtocol(client.ProtocolGRPC))
	for range 2 {
		if _, err := c.GetFeature(ctx, patriotsPath); err != nil {
			t.Fatalf("GetFeature: %v", err)
		}
	}
	offTheMap := &routeguide.Point{Latitude: 910000000}
	if _, err := grpcClient.GetFeature(ctx, offTheMap); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("GetFeature off the map: %v, want invalid_argument", err)
	}
	everywhere := &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: -900000000, Longitude: -1800000000},
		Hi: &routeguide.Point{Latitude: 900000000, Longitude: 1800000000},
	}
	for _, err := range c.ListFeatures(ctx, everywhere) {
		if err != nil {
			t.Fatalf("ListFeatures: %v", err)
		}
	}
	if _, err := c.RecordRoute(ctx, slices.Values([]*routeguide.Point{patriotsPath, offTheMap})); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("RecordRoute through a bad point: %v, want invalid_argument", err)
	}
	// Three notes at two locations, on a chat left open for the scrape.
	chat := c.RouteChat(ctx)
	for _, p := range []*routeguide.Point{patriotsPath, {Latitude: 1, Longitude: 1}, patriotsPath} {
		if err := chat.Send(&routeguide.RouteNote{Location: p, Message: "hi"}); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	for range 4 { // 1, 1, then both notes at Patriots Path
		if _, err := chat.Receive(); err != nil {
			t.Fatalf("Receive: %v", err)
		}
	}

	families := scrape(t, s.adminAddr+"/metrics")
	calls := func(method, code string) float64 {
		return histogramCount(families, "rpc_server_call_duration_seconds",
			"rpc_method", "routeguide.RouteGuide/"+method, "rpc_response_status_code", code)
	}
	for _, tt := range []struct {
		name      string
		got, want float64
	}{
		{"GetFeature OK", calls("GetFeature", "OK"), 2},
		{"GetFeature INVALID_ARGUMENT", calls("GetFeature", "INVALID_ARGUMENT"), 1},
		{"ListFeatures OK", calls("ListFeatures", "OK"), 1},
		{"RecordRoute INVALID_ARGUMENT", calls("RecordRoute", "INVALID_ARGUMENT"), 1},
		{"routeguide_features", gauge(families, "routeguide_features"), 2},
		{"routeguide_notes", gauge(families, "routeguide_notes"), 3},
		{"routeguide_notes_locations", gauge(families, "routeguide_notes_locations"), 2},
		{"routeguide_streams_open RouteChat", gauge(families, "routeguide_streams_open",
			"rpc_method", "routeguide.RouteGuide/RouteChat"), 1},
		{"routeguide_streams_open ListFeatures", gauge(families, "routeguide_streams_open",
			"rpc_method", "routeguide.RouteGuide/ListFeatures"), 0},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if _, ok := families["go_goroutines"]; !ok {
		t.Error("no go_goroutines: the Go runtime's metrics are missing")
	}

	if err := chat.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	for _, err := range chat.Replies() {
		if err != nil {
			t.Fatalf("RouteChat: %v", err)
		}
	}
	families = scrape(t, s.adminAddr+"/metrics")
	if got := calls("RouteChat", "OK"); got != 1 {
		t.Errorf("RouteChat OK = %v after the chat, want 1", got)
	}
	if got := gauge(families, "routeguide_streams_open", "rpc_method", "routeguide.RouteGuide/RouteChat"); got != 0 {
		t.Errorf("routeguide_streams_open RouteChat = %v after the chat, want 0", got)
	}

	// One access record per call, in JSON.
	var rpcs []map[string]any
	for _, r := range s.logs.records() {
		if r["msg"] == "rpc" {
			rpcs = append(rpcs, r)
		}
	}
	if len(rpcs) != 6 {
		t.Errorf("got %d access records, want 6: %v", len(rpcs), rpcs)
	}
	for _, r := range rpcs {
		if r["procedure"] == "/routeguide.RouteGuide/GetFeature" && r["code"] == "invalid_argument" {
			if r["protocol"] != "grpc" || r["level"] != "INFO" || r["error"] == nil {
				t.Errorf("access record of a bad call = %v, want protocol grpc at INFO with the error", r)
			}
		}
	}
}

// TestAdminNotOnRPCListener checks that the admin endpoints are served on
// the admin listener only.
func TestAdminNotOnRPCListener(t *testing.T) {
	t.Parallel()
	s := startRun(t, []string{"--addr=127.0.0.1:0", "--admin-addr=127.0.0.1:0", "--log-format=json"}, nil)
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap"} {
		if code, _ := get(t, s.addr+path); code != http.StatusNotFound {
			t.Errorf("GET %s on the RPC listener: %d, want 404", path, code)
		}
		if code, _ := get(t, s.adminAddr+path); code != http.StatusOK {
			t.Errorf("GET %s on the admin listener: %d, want 200", path, code)
		}
	}
	if code, body := get(t, s.adminAddr+"/debug/pprof/"); !strings.Contains(body, "goroutine") {
		t.Errorf("GET /debug/pprof/: %d %q, want the profile index", code, body)
	}
}

// TestNoAdminByDefault checks that without --admin-addr nothing but RPCs is
// served.
func TestNoAdminByDefault(t *testing.T) {
	t.Parallel()
	s := startRun(t, []string{"--addr=127.0.0.1:0", "--log-format=json"}, nil)
	if s.adminAddr != "" {
		t.Errorf("admin listener on %s, want none", s.adminAddr)
	}
	if code, _ := get(t, s.addr+"/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the RPC listener: %d, want 404", code)
	}
}

// newRPCClient returns a RouteGuide client whose connections are closed when
// the test ends.
func newRPCClient(t *testing.T, url string, options ...client.Option) *client.Client {
	t.Helper()
	transport := &http.Transport{Protocols: new(http.Protocols)}
	transport.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(transport.CloseIdleConnections)
	c, err := client.New(url, append(options, client.WithHTTPClient(&http.Client{Transport: transport}))...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// scrape fetches and parses Prometheus's text format from url.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", url, err, body)
	}
	return families
}

// matches reports whether m has every label of labels, given as name-value
// pairs.
func matches(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// gauge returns the value of the gauge sample named name with labels, or 0
// if there is none.
func gauge(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	for _, m := range families[name].GetMetric() {
		if matches(m, labels) {
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// histogramCount returns the sample count of the histogram named name with
// labels, or 0 if there is none.
func histogramCount(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	for _, m := range families[name].GetMetric() {
		if matches(m, labels) {
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}
