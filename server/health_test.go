package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
)

// TestHealthJSONNames checks that health over Connect JSON answers with the
// status names of the gRPC protocol, which reflection serves too, so that
// HTTP probes can match "SERVING" exactly: by POST and by GET.
func TestHealthJSONNames(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, testFeatures)
	for _, tt := range []struct {
		method, path, body, want string
	}{
		{http.MethodPost, "/grpc.health.v1.Health/Check", `{}`, `{"status":"SERVING"}`},
		{http.MethodPost, "/grpc.health.v1.Health/Check", `{"service":"routeguide.RouteGuide"}`, `{"status":"SERVING"}`},
		{http.MethodGet, "/grpc.health.v1.Health/Check?encoding=json&message=%7B%7D", "", `{"status":"SERVING"}`},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), tt.method, ts.URL+tt.path, strings.NewReader(tt.body))
		if tt.method == http.MethodPost {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if got := strings.Join(strings.Fields(string(body)), ""); got != tt.want {
			t.Errorf("%s %s %s: %s %s, want %s", tt.method, tt.path, tt.body, res.Status, body, tt.want)
		}
	}
}

// TestHealthWatchAtDrain opens health Watch streams and drains the server:
// they must end with unavailable, as the drain of every other stream does,
// so that the watcher knows to go elsewhere.
func TestHealthWatchAtDrain(t *testing.T) {
	t.Parallel()
	srv, err := server.New(testFeatures)
	if err != nil {
		t.Fatal(err)
	}
	ts := routeguidetest.NewServer(t, srv)
	var watches []*routeguidetest.Watch
	for _, option := range []connecthttp.Option{connecthttp.WithGRPC(), connecthttp.WithProtoJSON()} {
		client := routeguidetest.NewClient(routeguidetest.H2CClient(), ts.URL, option)
		stream, err := routeguidetest.HealthWatch(t.Context(), client, "routeguide.RouteGuide")
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		if status, err := stream.Receive(); err != nil || status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("first Watch answer: %v %v, want SERVING", status, err)
		}
		watches = append(watches, stream)
	}
	srv.Drain()
	for _, stream := range watches {
		ended := make(chan error, 1)
		go func() {
			for {
				status, err := stream.Receive()
				if err != nil {
					ended <- err
					return
				}
				if status != healthpb.HealthCheckResponse_NOT_SERVING {
					t.Errorf("Watch sent %v at drain, want NOT_SERVING or nothing", status)
				}
			}
		}()
		select {
		case err := <-ended:
			if connect.CodeOf(err) != connect.CodeUnavailable {
				t.Errorf("Watch ended with %v at drain, want unavailable", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Watch did not end at drain")
		}
	}
}
