package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
)

// badGRPCWebCall makes a gRPC-Web GetFeature call from a page at origin
// with a latitude of 95°, which fails before any message is sent, so that
// its status comes in headers.
func badGRPCWebCall(t *testing.T, url, origin string) *http.Response {
	t.Helper()
	// A frame holding Point{latitude: 950000000}.
	body := []byte{0, 0, 0, 0, 6, 0x08, 0x80, 0xb3, 0xff, 0xc4, 0x03}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/routeguide.RouteGuide/GetFeature", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/grpc-web+proto")
	req.Header.Set("X-Grpc-Web", "1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func newCORSServer(t *testing.T, origins ...string) *httptest.Server {
	t.Helper()
	return routeguidetest.NewRouteGuide(t, dataset.Default(), server.WithCORSOrigins(origins...))
}

func TestCORSAllowedOrigin(t *testing.T) {
	t.Parallel()
	const origin = "http://localhost:3000"
	ts := newCORSServer(t, origin, "https://*.example.com")
	for _, o := range []string{origin, "https://app.example.com"} {
		res := routeguidetest.Preflight(t, ts.URL, o)
		if res.StatusCode != http.StatusNoContent {
			t.Errorf("preflight from %s: %s, want 204", o, res.Status)
		}
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != o {
			t.Errorf("preflight from %s: Access-Control-Allow-Origin = %q", o, got)
		}
		allowed := strings.Split(res.Header.Get("Access-Control-Allow-Headers"), ",")
		for _, h := range []string{"authorization", "content-type", "x-grpc-web", "x-user-agent", "grpc-timeout"} {
			if !slices.Contains(allowed, h) {
				t.Errorf("preflight from %s: Access-Control-Allow-Headers = %q, want %s in it", o, allowed, h)
			}
		}
		if got := res.Header.Get("Access-Control-Max-Age"); got != "7200" {
			t.Errorf("preflight from %s: Access-Control-Max-Age = %q, want 7200", o, got)
		}
	}

	res := badGRPCWebCall(t, ts.URL, origin)
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("call: Access-Control-Allow-Origin = %q, want %q", got, origin)
	}
	if got := res.Header.Get("Grpc-Status"); got != "3" {
		t.Errorf("call: Grpc-Status = %q, want 3 (invalid_argument)", got)
	}
	exposed := strings.Split(res.Header.Get("Access-Control-Expose-Headers"), ",")
	for _, h := range []string{"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"} {
		if !slices.ContainsFunc(exposed, func(e string) bool { return strings.EqualFold(strings.TrimSpace(e), h) }) {
			t.Errorf("call: Access-Control-Expose-Headers = %q, want %s in it", exposed, h)
		}
	}
	if got := res.Header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("call: Access-Control-Allow-Credentials = %q, want none", got)
	}
}

func TestCORSRefusedOrigin(t *testing.T) {
	t.Parallel()
	servers := map[string]*httptest.Server{
		"no origins (default)": routeguidetest.NewRouteGuide(t, dataset.Default()),
		"other origin allowed": newCORSServer(t, "http://localhost:3000"),
	}
	for name, ts := range servers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const origin = "http://evil.example"
			if got := routeguidetest.Preflight(t, ts.URL, origin).Header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("preflight from %s: Access-Control-Allow-Origin = %q, want none", origin, got)
			}
			res := badGRPCWebCall(t, ts.URL, origin)
			for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Expose-Headers"} {
				if got := res.Header.Get(h); got != "" {
					t.Errorf("call from %s: %s = %q, want none", origin, h, got)
				}
			}
		})
	}
}
