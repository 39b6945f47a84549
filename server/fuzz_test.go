package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/limits"
)

// go on answering.
func FuzzHandler(f *testing.F) {
	point, _ := json.Marshal(map[string]int{"latitude": 10, "longitude": 10})
	f.Add(uint8(0), uint8(0), []byte(`{"latitude": 10, "longitude": 10}`))
	f.Add(uint8(1), uint8(1), envelope(0, point))
	f.Add(uint8(2), uint8(3), envelope(0, []byte{0x08, 0x0a, 0x10, 0x0a}))
	f.Add(uint8(3), uint8(4), append(envelope(0, []byte{0x0a, 0x00}), envelope(2, nil)...))
	f.Add(uint8(1), uint8(2), envelope(1, []byte{0x1f, 0x8b, 0x08}))
	f.Add(uint8(0), uint8(5), []byte{0xff, 0xff, 0xff, 0xff, 0xff})
	srv, err := New(testFeaturesForFuzzing(), WithLimits(limits.Limits{MaxRoutePoints: 100, MaxMessageBytes: 1 << 16}))
	if err != nil {
		f.Fatal(err)
	}
	procedures := []string{
		"/routeguide.RouteGuide/GetFeature",
		"/routeguide.RouteGuide/ListFeatures",
		"/routeguide.RouteGuide/RecordRoute",
		"/routeguide.RouteGuide/RouteChat",
		"/routeguide.notes.v1.NotesService/PostNote",
		"/grpc.health.v1.Health/Check",
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
	}
	contentTypes := []string{
		"application/json", "application/proto",
		"application/connect+json", "application/connect+proto",
		"application/grpc", "application/grpc+json",
		"application/grpc-web", "application/grpc-web+json", "application/grpc-web-text",
	}
	f.Fuzz(func(t *testing.T, procedure, contentType uint8, body []byte) {
		req := httptest.NewRequest(http.MethodPost, procedures[int(procedure)%len(procedures)], bytes.NewReader(body))
		req.ProtoMajor, req.ProtoMinor = 2, 0
		req.Header.Set("Content-Type", contentTypes[int(contentType)%len(contentTypes)])
		if contentType%7 == 3 {
			req.Header.Set("Connect-Content-Encoding", "gzip")
			req.Header.Set("Grpc-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}

		check := httptest.NewRequest(http.MethodPost, procedures[0], strings.NewReader(`{"latitude": 10, "longitude": 10}`))
		check.Header.Set("Content-Type", "application/json")
		rec = httptest.NewRecorder()
		srv.ServeHTTP(rec, check)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Fuzzville") {
			t.Fatalf("the server stopped answering: %d %s", rec.Code, rec.Body)
		}
	})
}

func testFeaturesForFuzzing() []*routeguide.Feature {
	return []*routeguide.Feature{
		{Name: "Fuzzville", Location: &routeguide.Point{Latitude: 10, Longitude: 10}},
		{Name: "", Location: &routeguide.Point{Latitude: 20, Longitude: 20}},
	}
}

// envelope frames a message as the streaming protocols do: a flags byte
// and a big-endian length.
func envelope(flags byte, data []byte) []byte {
	out := []byte{flags}
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	return append(out, data...)
}
