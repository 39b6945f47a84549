package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// gzipBomb returns a gzip body that inflates to about size bytes of zeros:
// gzip members concatenated inflate to their contents concatenated, and
// one of 1 MiB of zeros is about 1 KiB.
func gzipBomb(t *testing.T, size int64) []byte {
	t.Helper()
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	if _, err := zw.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat(member.Bytes(), int(size>>20))
}

// TestGzipBombCPU sends the real server a body of under 4 MB that
// inflates to 4 GB, over the Connect protocol and over gRPC. Each must be
// refused with resource_exhausted for under 0.25 s of the server's CPU:
// decompression must stop at the message size limit, not run to the end
// to learn the size.
func TestGzipBombCPU(t *testing.T) {
	t.Parallel()
	p := startProcess(t)
	bomb := gzipBomb(t, 4_000_000_000)
	grpcBody := append([]byte{1}, binary.BigEndian.AppendUint32(nil, uint32(len(bomb)))...)
	grpcBody = append(grpcBody, bomb...)
	tests := []struct {
		name   string
		body   []byte
		header map[string]string
		want   func(*http.Response, []byte) bool
	}{{
		name:   "Connect",
		body:   bomb,
		header: map[string]string{"Content-Type": "application/proto", "Content-Encoding": "gzip"},
		want: func(res *http.Response, body []byte) bool {
			return strings.Contains(string(body), `"code":"resource_exhausted"`)
		},
	}, {
		name:   "gRPC",
		body:   grpcBody,
		header: map[string]string{"Content-Type": "application/grpc", "Grpc-Encoding": "gzip", "Te": "trailers"},
		want: func(res *http.Response, _ []byte) bool {
			return res.Trailer.Get("Grpc-Status") == "8" // resource_exhausted
		},
	}}
	client := routeguidetest.H2CClient()
	for _, tt := range tests {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
			"http://"+p.addr+"/routeguide.RouteGuide/GetFeature", bytes.NewReader(tt.body))
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		cpuBefore := p.cpu(t)
		began := time.Now()
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		elapsed := time.Since(began)
		// Not a wait for an event: the process's CPU counters are sampled
		// at the kernel's ticks of 10 ms, so a few ticks pass before the
		// second reading, or the work just done might not be counted yet.
		time.Sleep(50 * time.Millisecond)
		used := p.cpu(t) - cpuBefore
		t.Logf("%s: a %.1f MB body inflating to 4 GB: %s %s %s in %v, %v of server CPU",
			tt.name, float64(len(tt.body))/1e6, res.Status, res.Trailer.Get("Grpc-Message"), body,
			elapsed.Round(time.Millisecond), used)
		if !tt.want(res, body) {
			t.Errorf("%s: the bomb got %s %v %s, want resource_exhausted", tt.name, res.Status, res.Trailer, body)
		}
		if used >= 250*time.Millisecond {
			t.Errorf("%s: the bomb cost %v of server CPU, want under 250ms", tt.name, used)
		}
	}
	if err := checkServed(t.Context(), p.addr); err != nil {
		t.Error(err)
	}
}
