package server_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
)

// get fetches path from the server with a plain HTTP/1.1 client, which,
// unlike http.DefaultClient's transport, asks for no compression unless told.
func get(t *testing.T, method, url string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	transport := &http.Transport{DisableCompression: true}
	defer transport.CloseIdleConnections()
	res, err := transport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func TestPageFiles(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, dataset.Default())
	tests := []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="app.js">`},
		{"/index.html", "text/html; charset=utf-8", `<link rel="stylesheet" href="app.css">`},
		{"/app.js", "text/javascript; charset=utf-8", "listFeatures"},
		{"/app.css", "text/css; charset=utf-8", "#plot"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			res, body := get(t, http.MethodGet, ts.URL+tt.path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %s", tt.path, res.Status)
			}
			if got := res.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if !bytes.Contains(body, []byte(tt.contains)) {
				t.Errorf("body does not contain %q", tt.contains)
			}
			for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "ETag", "Cache-Control"} {
				if res.Header.Get(h) == "" {
					t.Errorf("no %s header", h)
				}
			}

			res, _ = get(t, http.MethodGet, ts.URL+tt.path, http.Header{"If-None-Match": {res.Header.Get("ETag")}})
			if res.StatusCode != http.StatusNotModified {
				t.Errorf("GET with the ETag in If-None-Match: %s, want 304", res.Status)
			}

			res, head := get(t, http.MethodHead, ts.URL+tt.path, nil)
			if res.StatusCode != http.StatusOK || len(head) != 0 || res.ContentLength != int64(len(body)) {
				t.Errorf("HEAD: %s with %d bytes of body and Content-Length %d, want 200, none and %d",
					res.Status, len(head), res.ContentLength, len(body))
			}
		})
	}
}

func TestPageGzip(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, dataset.Default())
	_, plain := get(t, http.MethodGet, ts.URL+"/app.js", nil)
	res, compressed := get(t, http.MethodGet, ts.URL+"/app.js", http.Header{"Accept-Encoding": {"gzip, deflate, br"}})
	if got := res.Header.Get("Content-Encoding"); got != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", got)
	}
	if !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("Vary = %q, want Accept-Encoding in it", res.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Error("gzipped app.js does not decompress to app.js")
	}
	t.Logf("app.js: %d bytes, %d gzipped", len(plain), len(compressed))

	res, _ = get(t, http.MethodGet, ts.URL+"/app.js", http.Header{"Accept-Encoding": {"gzip;q=0"}})
	if got := res.Header.Get("Content-Encoding"); got != "" {
		t.Errorf("with gzip;q=0, Content-Encoding = %q, want none", got)
	}
}

func TestPageMethodsAndUnknownPaths(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, dataset.Default())
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		res, _ := get(t, method, ts.URL+"/", nil)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: %s, Allow %q; want 405, Allow \"GET, HEAD\"", method, res.Status, res.Header.Get("Allow"))
		}
	}
	for _, path := range []string{"/nope", "/app.js.map", "/dist/index.html"} {
		if res, _ := get(t, http.MethodGet, ts.URL+path, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", path, res.Status)
		}
	}
}

// TestAPIBesidePage checks that mounting the page at "/" takes nothing from
// the API: calls of every protocol, Connect GET included, still reach it,
// and an unknown service still reads as unimplemented to gRPC clients.
func TestAPIBesidePage(t *testing.T) {
	t.Parallel()
	features := dataset.Default()
	ts := routeguidetest.NewRouteGuide(t, features)
	want := features[0]
	options := map[string][]client.Option{
		"connect get": {client.WithHTTPGet()},
		"connect":     nil,
		"grpc":        {client.WithProtocol(client.ProtocolGRPC)},
		"grpcweb":     {client.WithProtocol(client.ProtocolGRPCWeb)},
	}
	for name, opts := range options {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := client.New(ts.URL, opts...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.GetFeature(t.Context(), want.GetLocation())
			if err != nil {
				t.Fatal(err)
			}
			if got.GetName() != want.GetName() {
				t.Errorf("GetFeature = %q, want %q", got.GetName(), want.GetName())
			}
		})
	}

	t.Run("unknown service", func(t *testing.T) {
		t.Parallel()
		unknown := routeguidetest.NewClient(ts.Client(), ts.URL, connecthttp.WithGRPCWeb())
		err := unknown.CallUnary(t.Context(), connect.Spec{Procedure: "/no.such.Service/Method"}, &emptypb.Empty{}, &emptypb.Empty{})
		if got := connect.CodeOf(err); got != connect.CodeUnimplemented {
			t.Errorf("call of an unknown service: %v, want code unimplemented", err)
		}
	})
}

func TestNewRefusesBadCORSOrigins(t *testing.T) {
	t.Parallel()
	for _, origin := range []string{
		"",
		"localhost:3000",
		"http://localhost:3000/",
		"http://localhost:3000/app",
		"http://",
		"://localhost",
		"http://*.*.example.com",
		"http://user@example.com",
		"1http://example.com",
	} {
		_, err := server.New(nil, server.WithCORSOrigins(origin))
		if err == nil {
			t.Errorf("New with CORS origin %q: no error", origin)
		}
	}
	for _, origin := range []string{"*", "http://localhost:3000", "https://*.example.com", "HTTPS://Example.com", "chrome-extension://abc"} {
		if _, err := server.New(nil, server.WithCORSOrigins(origin)); err != nil {
			t.Errorf("New with CORS origin %q: %v", origin, err)
		}
	}
}
