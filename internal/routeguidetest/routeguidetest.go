// Package routeguidetest starts real RouteGuide servers for tests, on
// loopback ports the kernel picks, and finds the canonical dataset.
package routeguidetest

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"testing"

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
	req.Header.Set("Access-Control-Request-Headers", "content-type,grpc-timeout,x-grpc-web,x-user-agent")
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
