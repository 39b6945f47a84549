package grpcwebtext_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
)

// BenchmarkGetFeature measures a GetFeature call in gRPC-Web's binary and
// text forms, in process, through the whole server: the difference is what
// the translation costs a call.
func BenchmarkGetFeature(b *testing.B) {
	srv, err := server.New(dataset.Default())
	if err != nil {
		b.Fatal(err)
	}
	frame := []byte{0, 0, 0, 0, 11, 0x08, 0x94, 0xe4, 0xfc, 0xe8, 0x01, 0x10, 0xaa, 0xb8, 0xf8, 0x0a}
	for _, tc := range []struct {
		name, contentType string
		body              string
	}{
		{"binary", "application/grpc-web+proto", string(frame)},
		{"text", "application/grpc-web-text", base64.StdEncoding.EncodeToString(frame)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/routeguide.RouteGuide/GetFeature", strings.NewReader(tc.body))
				req.Header.Set("Content-Type", tc.contentType)
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || rec.Body.Len() < 50 {
					b.Fatalf("answer %d %q", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkListFeatures measures a stream of every feature of the default
// dataset, in both forms.
func BenchmarkListFeatures(b *testing.B) {
	srv, err := server.New(dataset.Default())
	if err != nil {
		b.Fatal(err)
	}
	// Rectangle{lo: {-90°, -180°}, hi: {90°, 180°}}.
	rect := []byte{0x0a, 0x16, 0x08, 0x80, 0x9a, 0x8e, 0xd3, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x01, 0x10, 0x80, 0xb4, 0x9c, 0xa6, 0xf9, 0xff, 0xff, 0xff, 0xff, 0x01,
		0x12, 0x0c, 0x08, 0x80, 0xe6, 0xf1, 0xac, 0x03, 0x10, 0x80, 0xcc, 0xe3, 0xd9, 0x06}
	frame := append([]byte{0, 0, 0, 0, byte(len(rect))}, rect...)
	for _, tc := range []struct {
		name, contentType string
		body              string
	}{
		{"binary", "application/grpc-web+proto", string(frame)},
		{"text", "application/grpc-web-text", base64.StdEncoding.EncodeToString(frame)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/routeguide.RouteGuide/ListFeatures", strings.NewReader(tc.body))
				req.Header.Set("Content-Type", tc.contentType)
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Body.Len() < 1000 {
					b.Fatalf("answer %q", rec.Body)
				}
			}
		})
	}
}

// BenchmarkDecode measures decoding 1 MiB of base64 sent in padded chunks
// of 4 KiB.
func BenchmarkDecode(b *testing.B) {
	data := bytes.Repeat([]byte("RouteGuide"), 1<<20/10)
	var body strings.Builder
	for chunk := range slices.Chunk(data, 4<<10) {
		body.WriteString(base64.StdEncoding.EncodeToString(chunk))
	}
	srv := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil || n != int64(len(data)) {
			b.Fatalf("decoded %d bytes, %v", n, err)
		}
	})
	h := handler(srv)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body.String()))
		req.Header.Set("Content-Type", "application/grpc-web-text")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkEncode measures encoding 1 MiB written in 100-byte messages,
// each flushed, as a server stream writes them.
func BenchmarkEncode(b *testing.B) {
	msg := bytes.Repeat([]byte("x"), 100)
	const messages = 1 << 20 / 100
	srv := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/grpc-web+proto")
		for range messages {
			w.Write(msg)
			w.(http.Flusher).Flush()
		}
	})
	h := handler(srv)
	b.SetBytes(messages * int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		req.Header.Set("Content-Type", "application/grpc-web-text")
		w := &discard{header: http.Header{}}
		h.ServeHTTP(w, req)
		if w.written < 4*messages*int64(len(msg))/3 {
			b.Fatalf("wrote %d bytes of base64", w.written)
		}
	}
}

// discard is a ResponseWriter that keeps nothing, so that the encoder's
// own costs show.
type discard struct {
	header  http.Header
	written int64
}

func (d *discard) Header() http.Header { return d.header }
func (d *discard) Write(p []byte) (int, error) {
	d.written += int64(len(p))
	return len(p), nil
}
func (d *discard) WriteHeader(int) {}
func (d *discard) Flush()          {}
