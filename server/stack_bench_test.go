package server_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/metric/noop"
	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/internal/synthetic"
	"github.com/routeguide/routeguide/server"
)

// BenchmarkStackGetFeature serves GetFeature through the Server's handler
// alone, with no connection and no client, so that what it times is what
// the stack and the service cost a call: over the Connect protocol and
// over gRPC, with nothing observing the calls and with a logger and a
// meter provider that discard what they are given.
func BenchmarkStackGetFeature(b *testing.B) {
	features := synthetic.Features(100, 1)
	message, err := proto.Marshal(features[50].GetLocation())
	if err != nil {
		b.Fatal(err)
	}
	framed := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(message)))
	framed = append(framed, message...)
	for _, observed := range []bool{false, true} {
		var options []server.Option
		name := "bare"
		if observed {
			name = "observed"
			options = append(options, server.WithLogger(slog.New(slog.DiscardHandler)),
				server.WithMeterProvider(noop.NewMeterProvider()))
		}
		srv, err := server.New(features, options...)
		if err != nil {
			b.Fatal(err)
		}
		for _, protocol := range []struct {
			name, contentType string
			body              []byte
		}{
			{"connect", "application/proto", message},
			{"grpc", "application/grpc", framed},
		} {
			b.Run(name+"/"+protocol.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					r := httptest.NewRequest(http.MethodPost, "/routeguide.RouteGuide/GetFeature", bytes.NewReader(protocol.body))
					r.Header.Set("Content-Type", protocol.contentType)
					w := httptest.NewRecorder()
					srv.ServeHTTP(w, r)
					if w.Code != http.StatusOK || w.Header().Get("Grpc-Status") != "" && w.Header().Get("Grpc-Status") != "0" {
						b.Fatalf("HTTP %d, grpc-status %q: %s", w.Code, w.Header().Get("Grpc-Status"), w.Body)
					}
					_, _ = io.Copy(io.Discard, w.Body)
				}
			})
		}
	}
}
