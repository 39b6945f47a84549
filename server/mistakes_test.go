package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server/dataset"
)

// Plain HTTP mistakes get an answer that says what to do, not a bare status,
// with the status the protocols expect: 404 for a Connect call of a
// procedure that does not exist, and 415, with a plain-text hint, for a
// Content-Type no protocol uses (wantCode "").
func TestMistakesGetHelpfulAnswers(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, dataset.Default())
	tests := []struct {
		name, method, path, contentType string
		wantStatus                      int
		wantCode                        string
		wantMessage                     []string
	}{
		{"unknown method over Connect", http.MethodPost, "/routeguide.RouteGuide/GetFeatures", "application/json",
			http.StatusNotFound, "unimplemented", []string{"/routeguide.RouteGuide/GetFeatures", "routeguide.RouteGuide", "grpc.health.v1.Health"}},
		{"unknown service over Connect", http.MethodPost, "/routeguide.Nope/Get", "application/proto",
			http.StatusNotFound, "unimplemented", []string{"no procedure /routeguide.Nope/Get"}},
		{"Connect GET of an unknown method", http.MethodGet, "/routeguide.RouteGuide/Nope?encoding=json&message=%7B%7D", "",
			http.StatusNotFound, "unimplemented", []string{"no procedure"}},
		{"no Content-Type", http.MethodPost, "/routeguide.RouteGuide/GetFeature", "",
			http.StatusUnsupportedMediaType, "", []string{"application/json", "application/grpc"}},
		{"a Content-Type no protocol uses", http.MethodPost, "/routeguide.RouteGuide/GetFeature", "text/plain",
			http.StatusUnsupportedMediaType, "", []string{"not one this server reads", "application/proto"}},
		{"plain curl -d's form encoding", http.MethodPost, "/routeguide.RouteGuide/GetFeature", "application/x-www-form-urlencoded",
			http.StatusUnsupportedMediaType, "", []string{"not one this server reads", "application/json"}},
		{"unary JSON to a streaming method", http.MethodPost, "/routeguide.RouteGuide/ListFeatures", "application/json",
			http.StatusUnsupportedMediaType, "", []string{"ListFeatures is a streaming method", "application/connect+json", "flag byte"}},
		{"streaming JSON to a unary method", http.MethodPost, "/routeguide.RouteGuide/GetFeature", "application/connect+json",
			http.StatusUnsupportedMediaType, "", []string{"GetFeature is a unary method", "application/json"}},
		{"the package left out", http.MethodPost, "/RouteGuide/GetFeature", "application/json",
			http.StatusNotFound, "unimplemented", []string{"did you mean /routeguide.RouteGuide/GetFeature?"}},
		{"the method in another case", http.MethodPost, "/routeguide.RouteGuide/getFeature", "application/json",
			http.StatusNotFound, "unimplemented", []string{"did you mean /routeguide.RouteGuide/GetFeature?"}},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, ts.URL+tt.path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		if tt.contentType != "" {
			req.Header.Set("Content-Type", tt.contentType)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var got struct{ Code, Message string }
		if tt.wantCode == "" {
			got.Message = string(body)
		} else if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("%s: %s with body %q, not a Connect JSON error: %v", tt.name, res.Status, body, err)
			continue
		}
		if got, want := res.Header.Get("X-Content-Type-Options"), "nosniff"; got != want {
			t.Errorf("%s: X-Content-Type-Options %q, want %q", tt.name, got, want)
		}
		if tt.contentType != "" && strings.Contains(string(body), tt.contentType) && tt.wantCode == "" && !strings.HasPrefix(tt.contentType, "application/") {
			t.Errorf("%s: the answer echoes the request's Content-Type: %q", tt.name, body)
		}
		if res.StatusCode != tt.wantStatus || got.Code != tt.wantCode {
			t.Errorf("%s: %s %q, want %d %q", tt.name, res.Status, got.Code, tt.wantStatus, tt.wantCode)
		}
		for _, want := range tt.wantMessage {
			if !strings.Contains(got.Message, want) {
				t.Errorf("%s: message %q does not say %q", tt.name, got.Message, want)
			}
		}
	}
}

// A Connect call naming a protocol version there is not is told so, with
// the code for a bad request, not a 415 that blames its Content-Type.
func TestConnectProtocolVersionMistake(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, dataset.Default())
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+"/routeguide.RouteGuide/GetFeature",
		strings.NewReader(`{"latitude": 1, "longitude": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Connect-Protocol-Version", "2")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var got struct{ Code, Message string }
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s with body %q, not a Connect JSON error: %v", res.Status, body, err)
	}
	if res.StatusCode != http.StatusBadRequest || got.Code != "invalid_argument" || !strings.Contains(got.Message, "Connect-Protocol-Version") {
		t.Errorf("%s %q %q, want 400 invalid_argument naming Connect-Protocol-Version", res.Status, got.Code, got.Message)
	}
}

// A gRPC client calling a method the server lacks gets unimplemented in
// gRPC's own terms.
func TestUnknownMethodOverGRPC(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, dataset.Default())
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+"/routeguide.RouteGuide/Nope",
		strings.NewReader("\x00\x00\x00\x00\x00"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	res, err := routeguidetest.H2CClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	status := res.Header.Get("Grpc-Status") + res.Trailer.Get("Grpc-Status")
	if status != "12" || !strings.Contains(res.Header.Get("Grpc-Message")+res.Trailer.Get("Grpc-Message"), "no procedure") {
		t.Errorf("grpc-status %q, message %q; want 12 (unimplemented) and a message that says why",
			status, res.Header.Get("Grpc-Message")+res.Trailer.Get("Grpc-Message"))
	}
}
