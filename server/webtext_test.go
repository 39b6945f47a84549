package server_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestCORSGRPCWebText makes a gRPC-Web text call from another origin as
// Google's grpc-web client does in its default mode: the preflight allows
// its headers, and the answer, in base64, exposes the status.
func TestCORSGRPCWebText(t *testing.T) {
	t.Parallel()
	const origin = "http://localhost:3000"
	ts := newCORSServer(t, origin)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, ts.URL+"/routeguide.RouteGuide/GetFeature", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	// What grpc-web sends, Accept being safelisted: Content-Type because
	// its value is not one a form can send.
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-grpc-web,x-user-agent")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("preflight: %s, Access-Control-Allow-Origin %q; want 204 and %s", res.Status,
			res.Header.Get("Access-Control-Allow-Origin"), origin)
	}

	// Point{latitude: 950000000}, out of range, in a frame, in base64.
	frame := []byte{0, 0, 0, 0, 6, 0x08, 0x80, 0xb3, 0xff, 0xc4, 0x03}
	req, err = http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+"/routeguide.RouteGuide/GetFeature",
		strings.NewReader(base64.StdEncoding.EncodeToString(frame)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/grpc-web-text")
	req.Header.Set("Accept", "application/grpc-web-text")
	req.Header.Set("X-Grpc-Web", "1")
	req.Header.Set("X-User-Agent", "grpc-web-javascript/0.1")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := base64.StdEncoding.DecodeString(string(body)); err != nil {
		t.Errorf("body %q is not base64: %v", body, err)
	}
	if got := res.Header.Get("Content-Type"); got != "application/grpc-web-text" {
		t.Errorf("Content-Type %q, want application/grpc-web-text", got)
	}
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("Access-Control-Allow-Origin %q, want %s", got, origin)
	}
	if got := res.Header.Get("Grpc-Status"); got != "3" {
		t.Errorf("Grpc-Status %q, want 3 (invalid_argument)", got)
	}
	exposed := strings.Split(strings.ReplaceAll(res.Header.Get("Access-Control-Expose-Headers"), " ", ""), ",")
	for _, h := range []string{"Grpc-Status", "Grpc-Message"} {
		if !slices.ContainsFunc(exposed, func(e string) bool { return strings.EqualFold(e, h) }) {
			t.Errorf("Access-Control-Expose-Headers %q, want %s in it", exposed, h)
		}
	}
}
