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
			http.StatusUnsupportedMediaType, "", []string{`"text/plain"`, "application/proto"}},
		{"plain curl -d's form encoding", http.MethodPost, "/routeguide.RouteGuide/GetFeature", "application/x-www-form-urlencoded",
			http.StatusUnsupportedMediaType, "", []string{`"application/x-www-form-urlencoded"`, "application/json"}},
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
