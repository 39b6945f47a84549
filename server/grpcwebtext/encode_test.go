package grpcwebtext

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// flushRecorder records what reaches the client at each flush.
type flushRecorder struct {
	*httptest.ResponseRecorder
	chunks []string // the body sent between flushes
	sent   int
}

func (r *flushRecorder) Flush() {
	body := r.Body.String()
	r.chunks = append(r.chunks, body[r.sent:])
	r.sent = len(body)
	r.ResponseRecorder.Flush()
}

// writeWithFlushes writes data to a Writer over rec in writes cut at
// writeCuts, and flushes after the bytes before each flush point.
func writeWithFlushes(t *testing.T, rec *flushRecorder, data []byte, writeCuts []int, flushes map[int]bool) {
	t.Helper()
	tw := &Writer{w: rec}
	tw.Header().Set("Content-Type", "application/grpc-web+proto")
	tw.Header().Set("Content-Length", "1234")
	last := 0
	for _, c := range append(writeCuts, len(data)) {
		if n, err := tw.Write(data[last:c]); n != c-last || err != nil {
			t.Fatalf("Write of %d bytes = %d, %v", c-last, n, err)
		}
		last = c
		if flushes[c] {
			tw.Flush()
		}
	}
	tw.Finish()
}

func TestTextWriterChunks(t *testing.T) {
	t.Parallel()
	data := []byte("\x00\x00\x00\x00\x03\x08\x96\x01\x80\x00\x00\x00\x0fgrpc-status:0\r\n")
	// Writes cut everywhere, to cover every way a group of three can
	// straddle them; flushes after some.
	var cuts []int
	for i := 1; i < len(data); i++ {
		cuts = append(cuts, i)
	}
	for _, flushAt := range [][]int{nil, {1}, {2}, {3}, {5}, {8}, {1, 2, 3, 4}, {7, 8, 9, 28}, {len(data)}} {
		flushes := map[int]bool{}
		for _, c := range flushAt {
			flushes[c] = true
		}
		for _, writeCuts := range [][]int{nil, {5, 8}, cuts} {
			rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
			// Flushes come between writes.
			cutsHere := slices.Concat(writeCuts, flushAt)
			slices.Sort(cutsHere)
			cutsHere = slices.Compact(cutsHere)
			writeWithFlushes(t, rec, data, cutsHere, flushes)
			// What the client sees: each flush ends a padded chunk.
			var want string
			last := 0
			for _, c := range append(append([]int{}, flushAt...), len(data)) {
				want += base64.StdEncoding.EncodeToString(data[last:c])
				last = c
			}
			if got := rec.Body.String(); got != want {
				t.Errorf("flushes at %v, writes cut at %v: body %q, want %q", flushAt, cutsHere, got, want)
			}
			for i, chunk := range rec.chunks {
				if _, err := base64.StdEncoding.DecodeString(chunk); err != nil {
					t.Errorf("flushes at %v: chunk %d, %q, does not decode on its own: %v", flushAt, i, chunk, err)
				}
			}
			if got, want := rec.Header().Get("Content-Type"), "application/grpc-web-text+proto"; got != want {
				t.Errorf("Content-Type %q, want %q", got, want)
			}
			if got := rec.Header().Get("Content-Length"); got != "" {
				t.Errorf("Content-Length %q, want none: base64 is longer", got)
			}
		}
	}
}

func TestTextWriterLarge(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("0123456789abcdefghij"), 1000)
	rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	writeWithFlushes(t, rec, data, []int{1, 7001, 7002}, map[int]bool{7002: true})
	want := base64.StdEncoding.EncodeToString(data[:7002]) + base64.StdEncoding.EncodeToString(data[7002:])
	if rec.Body.String() != want {
		t.Fatalf("body of %d characters differs from the %d of the base64 of what was written", rec.Body.Len(), len(want))
	}
}

func TestTextWriterPassesOtherTypes(t *testing.T) {
	t.Parallel()
	for _, contentType := range []string{"text/plain; charset=utf-8", "application/grpc-webby", "application/json", ""} {
		rec := httptest.NewRecorder()
		tw := &Writer{w: rec}
		tw.Header().Set("Content-Type", contentType)
		tw.WriteHeader(http.StatusNotFound)
		tw.Write([]byte("not found\n"))
		tw.Flush()
		tw.Finish()
		if got := rec.Body.String(); got != "not found\n" {
			t.Errorf("Content-Type %q: body %q, want it as written", contentType, got)
		}
		if got := rec.Header().Get("Content-Type"); got != contentType {
			t.Errorf("Content-Type %q became %q", contentType, got)
		}
	}
}

func TestTextWriterNothingWritten(t *testing.T) {
	t.Parallel()
	// A trailers-only answer: the status in the headers and no body.
	rec := httptest.NewRecorder()
	tw := &Writer{w: rec}
	tw.Header().Set("Content-Type", "application/grpc-web")
	tw.Header().Set("Grpc-Status", "5")
	tw.Finish()
	if got, want := rec.Header().Get("Content-Type"), "application/grpc-web-text"; got != want {
		t.Errorf("Content-Type %q, want %q", got, want)
	}
	if rec.Body.Len() != 0 || rec.Code != http.StatusOK {
		t.Errorf("status %d, body %q; want 200 and no body", rec.Code, rec.Body)
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x00\x03\x08\x96\x01"), []byte{1, 2, 0, 5})
	f.Add([]byte("abcdefghijklmnopq"), []byte{0, 0, 0, 1, 1, 1})
	f.Fuzz(func(t *testing.T, data, plan []byte) {
		// Each byte of plan is a write of that many bytes, flushed after
		// if it is odd.
		rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
		var cuts []int
		flushes := map[int]bool{}
		at := 0
		for _, p := range plan {
			at = min(at+int(p)/2, len(data))
			cuts = append(cuts, at)
			if p%2 == 1 {
				flushes[at] = true
			}
		}
		writeWithFlushes(t, rec, data, cuts, flushes)
		for i, chunk := range rec.chunks {
			if len(chunk)%4 != 0 {
				t.Fatalf("chunk %d, %q, is not whole groups of 4", i, chunk)
			}
		}
		got, err := decodeAll(bytes.NewReader(rec.Body.Bytes()), 7)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip of %x with plan %v: %x, %v", data, plan, got, err)
		}
	})
}
