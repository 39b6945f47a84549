package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
)

// eiffelTower is the first feature of the embedded dataset.
var eiffelTower = &routeguide.Point{Latitude: 488583700, Longitude: 22944810}

// recordingHandler is a slog.Handler that keeps every record, at every level.
type recordingHandler struct {
	mu      sync.Mutex // protects records
	records []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }

func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

// logged returns the records with message msg, and their attributes.
func (h *recordingHandler) logged(msg string) ([]slog.Record, []map[string]slog.Value) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var records []slog.Record
	var attrs []map[string]slog.Value
	for _, r := range h.records {
		if r.Message != msg {
			continue
		}
		m := make(map[string]slog.Value)
		r.Attrs(func(a slog.Attr) bool {
			m[a.Key] = a.Value.Resolve()
			return true
		})
		records = append(records, r)
		attrs = append(attrs, m)
	}
	return records, attrs
}

// onlyRecord returns the one access-log record of a server that served one
// call, and its attributes as strings.
func onlyRecord(t *testing.T, h *recordingHandler) (slog.Record, map[string]string) {
	t.Helper()
	records, attrs := h.logged("rpc")
	if len(records) != 1 {
		t.Fatalf("got %d access-log records, want 1: %v", len(records), attrs)
	}
	strs := make(map[string]string)
	for k, v := range attrs[0] {
		strs[k] = v.String()
	}
	if d := attrs[0]["duration"]; d.Kind() != slog.KindDuration || d.Duration() <= 0 {
		t.Errorf("duration = %v, want a positive time.Duration", d)
	}
	if peer := strs["peer"]; !strings.HasPrefix(peer, "127.0.0.1:") {
		t.Errorf("peer = %q, want 127.0.0.1:PORT", peer)
	}
	delete(strs, "duration")
	delete(strs, "peer")
	return records[0], strs
}

// newLoggedServer starts a server that logs to a recordingHandler.
func newLoggedServer(t *testing.T, options ...server.Option) (*recordingHandler, string) {
	t.Helper()
	h := &recordingHandler{}
	options = append([]server.Option{server.WithLogger(slog.New(h))}, options...)
	ts := routeguidetest.NewRouteGuide(t, dataset.Default(), options...)
	return h, ts.URL
}

func newProtocolClient(t *testing.T, url string, options ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(url, options...)
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c
}

func TestAccessLogUnary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		options []client.Option
		want    map[string]string
	}{{
		name: "connect",
		want: map[string]string{"protocol": "connect", "codec": "proto"},
	}, {
		name:    "connect GET json",
		options: []client.Option{client.WithHTTPGet(), client.WithJSON()},
		want:    map[string]string{"protocol": "connect", "codec": "json"},
	}, {
		name:    "grpc",
		options: []client.Option{client.WithProtocol(client.ProtocolGRPC)},
		want:    map[string]string{"protocol": "grpc", "codec": "proto"},
	}, {
		name:    "grpcweb json",
		options: []client.Option{client.WithProtocol(client.ProtocolGRPCWeb), client.WithJSON()},
		want:    map[string]string{"protocol": "grpcweb", "codec": "json"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, url := newLoggedServer(t)
			if _, err := newProtocolClient(t, url, tt.options...).GetFeature(t.Context(), eiffelTower); err != nil {
				t.Fatalf("GetFeature: %v", err)
			}
			record, got := onlyRecord(t, h)
			want := map[string]string{"procedure": "/routeguide.RouteGuide/GetFeature", "code": "ok"}
			for k, v := range tt.want {
				want[k] = v
			}
			if !maps.Equal(got, want) {
				t.Errorf("attributes = %v, want %v", got, want)
			}
			if record.Level != slog.LevelInfo {
				t.Errorf("level = %v, want INFO", record.Level)
			}
		})
	}
}

func TestAccessLogStreams(t *testing.T) {
	t.Parallel()
	bigRectangle := &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: -900000000, Longitude: -1800000000},
		Hi: &routeguide.Point{Latitude: 900000000, Longitude: 1800000000},
	}
	tests := []struct {
		name string
		call func(context.Context, *client.Client) error
		want map[string]string
	}{{
		name: "server stream",
		call: func(ctx context.Context, c *client.Client) error {
			for _, err := range c.ListFeatures(ctx, bigRectangle) {
				if err != nil {
					return err
				}
			}
			return nil
		},
		want: map[string]string{"procedure": "/routeguide.RouteGuide/ListFeatures", "received": "1",
			"sent": "85"},
	}, {
		name: "client stream",
		call: func(ctx context.Context, c *client.Client) error {
			_, err := c.RecordRoute(ctx, slices.Values([]*routeguide.Point{eiffelTower, eiffelTower, eiffelTower}))
			return err
		},
		want: map[string]string{"procedure": "/routeguide.RouteGuide/RecordRoute", "received": "3", "sent": "1"},
	}, {
		name: "bidi stream",
		call: func(ctx context.Context, c *client.Client) error {
			chat := c.RouteChat(ctx)
			for _, msg := range []string{"first", "second"} {
				if err := chat.Send(&routeguide.RouteNote{Location: eiffelTower, Message: msg}); err != nil {
					return err
				}
			}
			if err := chat.CloseSend(); err != nil {
				return err
			}
			for _, err := range chat.Replies() {
				if err != nil {
					return err
				}
			}
			return nil
		},
		// The second note is answered with both.
		want: map[string]string{"procedure": "/routeguide.RouteGuide/RouteChat", "received": "2", "sent": "3"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, url := newLoggedServer(t)
			if err := tt.call(t.Context(), newProtocolClient(t, url, client.WithProtocol(client.ProtocolGRPC))); err != nil {
				t.Fatalf("call: %v", err)
			}
			record, got := onlyRecord(t, h)
			want := map[string]string{"protocol": "grpc", "codec": "proto", "code": "ok"}
			for k, v := range tt.want {
				want[k] = v
			}
			if !maps.Equal(got, want) {
				t.Errorf("attributes = %v, want %v", got, want)
			}
			if record.Level != slog.LevelInfo {
				t.Errorf("level = %v, want INFO", record.Level)
			}
		})
	}
}

func TestAccessLogErrors(t *testing.T) {
	t.Parallel()
	// failing fails every unary call with err, as if the handler had, from
	// inside the interceptors the server installs.
	failing := func(err error) server.Option {
		return server.WithInterceptors(func(connect.ServerFunc) connect.ServerFunc {
			return func(context.Context, connect.Spec, connect.ServerStream) error {
				return err
			}
		})
	}
	offTheMap := &routeguide.Point{Latitude: 910000000}
	tests := []struct {
		name      string
		option    server.Option
		point     *routeguide.Point
		wantCode  connect.Code
		wantLevel slog.Level
		wantError string
	}{{
		name:      "client mistake",
		point:     offTheMap,
		wantCode:  connect.CodeInvalidArgument,
		wantLevel: slog.LevelInfo,
		wantError: "latitude",
	}, {
		name:      "server fault",
		option:    failing(connect.NewError(connect.CodeInternal, "feature index: corrupt")),
		point:     eiffelTower,
		wantCode:  connect.CodeInternal,
		wantLevel: slog.LevelError,
		wantError: "feature index: corrupt",
	}, {
		name:      "plain error",
		option:    failing(errors.New("disk on fire")),
		point:     eiffelTower,
		wantCode:  connect.CodeUnknown,
		wantLevel: slog.LevelError,
		wantError: "disk on fire",
	}, {
		name:      "overloaded",
		option:    failing(connect.NewError(connect.CodeUnavailable, "try later")),
		point:     eiffelTower,
		wantCode:  connect.CodeUnavailable,
		wantLevel: slog.LevelWarn,
		wantError: "try later",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var options []server.Option
			if tt.option != nil {
				options = append(options, tt.option)
			}
			h, url := newLoggedServer(t, options...)
			_, err := newProtocolClient(t, url).GetFeature(t.Context(), tt.point)
			if got := connect.CodeOf(err); got != tt.wantCode {
				t.Fatalf("GetFeature: %v, want code %v", err, tt.wantCode)
			}
			record, got := onlyRecord(t, h)
			if record.Level != tt.wantLevel {
				t.Errorf("level = %v, want %v", record.Level, tt.wantLevel)
			}
			if got["code"] != tt.wantCode.String() {
				t.Errorf("code = %q, want %q", got["code"], tt.wantCode)
			}
			if !strings.Contains(got["error"], tt.wantError) {
				t.Errorf("error = %q, want it to contain %q", got["error"], tt.wantError)
			}
		})
	}
}

func TestAccessLogPanicHasStack(t *testing.T) {
	t.Parallel()
	h, url := newLoggedServer(t, server.WithInterceptors(func(connect.ServerFunc) connect.ServerFunc {
		return func(context.Context, connect.Spec, connect.ServerStream) error {
			panic("feature index corrupt")
		}
	}))
	_, err := newProtocolClient(t, url).GetFeature(t.Context(), eiffelTower)
	if connect.CodeOf(err) != connect.CodeInternal {
		t.Fatalf("GetFeature: %v, want internal", err)
	}
	if strings.Contains(err.Error(), "corrupt") {
		t.Errorf("error %q tells the client about the panic", err)
	}
	records, attrs := h.logged("rpc handler panicked")
	if len(records) != 1 {
		t.Fatalf("got %d panic records, want 1", len(records))
	}
	if records[0].Level != slog.LevelError {
		t.Errorf("level = %v, want ERROR", records[0].Level)
	}
	if got := attrs[0]["panic"].String(); got != "feature index corrupt" {
		t.Errorf("panic = %q, want the panic value", got)
	}
	if got := attrs[0]["stack"].String(); !strings.Contains(got, "accesslog_test.go") {
		t.Errorf("stack does not reach the panicking function:\n%s", got)
	}
	if _, got := onlyRecord(t, h); got["code"] != "internal" {
		t.Errorf("access record code = %q, want internal", got["code"])
	}
}

func TestAccessLogHealthAtDebug(t *testing.T) {
	t.Parallel()
	h, url := newLoggedServer(t)
	// A probe's check, in the Connect protocol with JSON.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		url+"/grpc.health.v1.Health/Check", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("health check: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || !strings.Contains(string(body), "SERVING") {
		t.Fatalf("health check: %s %s, %v", res.Status, body, err)
	}
	record, _ := onlyRecord(t, h)
	if record.Level != slog.LevelDebug {
		t.Errorf("level = %v, want DEBUG", record.Level)
	}
}

// TestAccessLogCancelledStreams checks that a stream its client cancels
// before a single message logs at debug, as a rapid-reset attack would
// otherwise have the server write a record per stream it resets, and that
// one cancelled after messages went both ways still logs at info.
func TestAccessLogCancelledStreams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		notes     int
		wantLevel slog.Level
	}{
		{"before any message", 0, slog.LevelDebug},
		{"after a note and its reply", 1, slog.LevelInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// started is closed once the server runs the stream's handler,
			// so that the cancellation comes after it.
			started := make(chan struct{})
			h, url := newLoggedServer(t, server.WithInterceptors(streamStarted(started)))
			ctx, cancel := context.WithCancel(t.Context())
			chat, err := newRawClient(url, connecthttp.WithGRPC()).RouteChat(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// The headers alone: the stream is open.
			if err := chat.SendHeaders(); err != nil {
				t.Fatal(err)
			}
			<-started
			for range tt.notes {
				if err := chat.Send(&routeguide.RouteNote{Location: eiffelTower, Message: "hi"}); err != nil {
					t.Fatal(err)
				}
				if _, err := chat.Receive(); err != nil {
					t.Fatal(err)
				}
			}
			cancel()
			_ = chat.Close()
			var records []slog.Record
			routeguidetest.Eventually(5*time.Second, func() bool {
				records, _ = h.logged("rpc")
				return len(records) > 0
			})
			if len(records) != 1 {
				t.Fatalf("got %d access-log records, want 1", len(records))
			}
			if records[0].Level != tt.wantLevel {
				t.Errorf("level = %v, want %v", records[0].Level, tt.wantLevel)
			}
		})
	}
}

// streamStarted returns an interceptor that closes started when a
// stream's handler begins.
func streamStarted(started chan struct{}) connect.ServerInterceptor {
	return func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			if spec.StreamType != connect.StreamTypeUnary {
				close(started)
			}
			return next(ctx, spec, stream)
		}
	}
}
