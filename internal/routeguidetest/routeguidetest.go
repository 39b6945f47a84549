// Package routeguidetest starts real RouteGuide servers for tests, on
// loopback ports the kernel picks, and finds the canonical dataset.
package routeguidetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"testing"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
)

// NewServer serves handler on a loopback port over HTTP/1.1 and HTTP/2
// without TLS (h2c), like routeguide-server does by default. The server is
// closed when the test ends.
func NewServer(t testing.TB, handler http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(handler)
	ts.Config.Protocols = new(http.Protocols)
	ts.Config.Protocols.SetHTTP1(true)
	ts.Config.Protocols.SetUnencryptedHTTP2(true)
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// H2CClient returns an HTTP client that speaks HTTP/2 without TLS, as
// bidirectional streams need.
func H2CClient() *http.Client {
	transport := &http.Transport{Protocols: new(http.Protocols)}
	transport.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: transport}
}

// HTTP1Client returns an HTTP client that speaks only HTTP/1.1.
func HTTP1Client() *http.Client {
	transport := &http.Transport{Protocols: new(http.Protocols)}
	transport.Protocols.SetHTTP1(true)
	return &http.Client{Transport: transport}
}

// Preflight sends the CORS preflight a browser sends before a gRPC-Web
// GetFeature call from a page at origin, and returns the answer.
func Preflight(t testing.TB, url, origin string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, url+"/routeguide.RouteGuide/GetFeature", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	// As browsers send it: lower case, sorted, no spaces.
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,grpc-timeout,x-grpc-web,x-user-agent")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// NewRouteGuide serves a new RouteGuide server over features with
// NewServer.
func NewRouteGuide(t testing.TB, features []*routeguide.Feature, options ...server.Option) *httptest.Server {
	t.Helper()
	srv, err := server.New(features, options...)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	return NewServer(t, srv)
}

// CanonicalFeaturesPath is where the repository keeps the canonical
// 100-feature dataset of the gRPC examples, as test data.
func CanonicalFeaturesPath() string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	return filepath.Join(root, "server", "dataset", "testdata", "route_guide_db.json")
}

// CanonicalFeatures loads the canonical dataset.
func CanonicalFeatures(t testing.TB) []*routeguide.Feature {
	t.Helper()
	features, err := dataset.Load(CanonicalFeaturesPath())
	if err != nil {
		t.Fatalf("load canonical dataset: %v", err)
	}
	return features
}

// HealthCheckProcedure and HealthWatchProcedure are the procedures of gRPC
// health checking that tests call.
const (
	HealthCheckProcedure = "/grpc.health.v1.Health/Check"
	HealthWatchProcedure = "/grpc.health.v1.Health/Watch"
)

// HealthCheck asks client for the status of service, through gRPC health
// checking.
func HealthCheck(ctx context.Context, client *connect.Client, service string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	var res healthpb.HealthCheckResponse
	err := client.CallUnary(ctx, connect.Spec{Procedure: HealthCheckProcedure, StreamType: connect.StreamTypeUnary},
		&healthpb.HealthCheckRequest{Service: service}, &res)
	return res.GetStatus(), err
}

// HealthWatch opens a Watch of the status of service on client. The
// caller should Close the stream when done.
func HealthWatch(ctx context.Context, client *connect.Client, service string) (*Watch, error) {
	stream, err := client.CallServerStream(ctx, connect.Spec{Procedure: HealthWatchProcedure, StreamType: connect.StreamTypeServer},
		&healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return nil, err
	}
	return &Watch{stream: stream}, nil
}

// Watch is an open health Watch.
type Watch struct {
	stream connect.ClientStream
}

// Receive returns the next status, or an error matching io.EOF once the
// server ended the watch.
func (w *Watch) Receive() (healthpb.HealthCheckResponse_ServingStatus, error) {
	var res healthpb.HealthCheckResponse
	err := w.stream.Receive(&res)
	return res.GetStatus(), err
}

// Close ends the watch.
func (w *Watch) Close() error { return w.stream.Close() }

// NewClient returns a connect-go client of baseURL over httpClient.
func NewClient(httpClient connecthttp.HTTPClient, baseURL string, options ...connecthttp.Option) *connect.Client {
	return connect.NewClient(connecthttp.NewTransport(httpClient, baseURL, options...))
}

// Must returns the stream s, which a generated client opened, or panics
// with err: opening a stream sends nothing, so it fails only when the client
// is misconfigured.
func Must[S any](s S, err error) S {
	if err != nil {
		panic(err)
	}
	return s
}
