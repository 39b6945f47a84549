package grpcwebtext

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// encodeChunk is how many bytes of a response a Writer encodes at a
// time: 768, which make 1 KiB of base64.
const encodeChunk = 768

// Writer sends a gRPC-Web response in base64, with the text form's
// Content-Type; a response of any other type, such as a plain-text 404,
// passes as it is. It keeps the last one or two bytes of a write that do
// not make a group of three for the next, and sends them as a padded group
// at a flush and at the end, so that each flush ends a chunk the client can
// decode on its own: a server stream's messages arrive as they are sent.
//
// Like any ResponseWriter, it is used by one goroutine at a time.
type Writer struct {
	w           http.ResponseWriter
	wroteHeader bool
	encode      bool    // whether the response is gRPC-Web, and so sent in base64
	rest        [3]byte // a group of three bytes being gathered
	nrest       int     // bytes in rest, written and not yet encoded
	buf         [encodeChunk / 3 * 4]byte
}

func (t *Writer) Header() http.Header {
	return t.w.Header()
}

// WriteHeader sends the response headers, with the Content-Type of a
// gRPC-Web response changed to the text form of the same codec.
func (t *Writer) WriteHeader(code int) {
	if code >= 100 && code < 200 {
		// Informational: the final headers are still to come.
		t.w.WriteHeader(code)
		return
	}
	if t.wroteHeader {
		t.w.WriteHeader(code) // for net/http to report the superfluous call
		return
	}
	t.wroteHeader = true
	h := t.w.Header()
	mediaType := baseType(h.Get("Content-Type"))
	if codec, ok := strings.CutPrefix(mediaType, binaryType); ok && (codec == "" || codec[0] == '+') {
		t.encode = true
		h.Set("Content-Type", textType+codec)
		// The length of the base64 depends on where the flushes fall.
		h.Del("Content-Length")
	}
	t.w.WriteHeader(code)
}

func (t *Writer) Write(p []byte) (int, error) {
	if !t.wroteHeader {
		t.WriteHeader(http.StatusOK)
	}
	if !t.encode {
		return t.w.Write(p)
	}
	written := 0
	if t.nrest > 0 {
		written = copy(t.rest[t.nrest:], p)
		if t.nrest += written; t.nrest < len(t.rest) {
			return len(p), nil
		}
		base64.StdEncoding.Encode(t.buf[:4], t.rest[:])
		if _, err := t.w.Write(t.buf[:4]); err != nil {
			return 0, err
		}
		t.nrest = 0
	}
	for len(p)-written >= 3 {
		n := min(len(p)-written, encodeChunk) / 3 * 3
		base64.StdEncoding.Encode(t.buf[:], p[written:written+n])
		if _, err := t.w.Write(t.buf[:n/3*4]); err != nil {
			return written, err
		}
		written += n
	}
	t.nrest = copy(t.rest[:], p[written:])
	return len(p), nil
}

// flushRest sends the bytes kept back from the last write as a padded
// group.
func (t *Writer) flushRest() error {
	if t.nrest == 0 {
		return nil
	}
	n := t.nrest
	t.nrest = 0
	base64.StdEncoding.Encode(t.buf[:4], t.rest[:n])
	_, err := t.w.Write(t.buf[:4])
	return err
}

// FlushError ends the base64 chunk and flushes it to the client, for
// [http.ResponseController].
func (t *Writer) FlushError() error {
	if !t.wroteHeader {
		t.WriteHeader(http.StatusOK)
	}
	if err := t.flushRest(); err != nil {
		return err
	}
	return http.NewResponseController(t.w).Flush()
}

// Flush implements [http.Flusher], which connect-go needs to stream.
func (t *Writer) Flush() {
	_ = t.FlushError()
}

// Unwrap lets [http.ResponseController] reach the underlying writer for
// deadlines and the like. Flushes go through FlushError.
func (t *Writer) Unwrap() http.ResponseWriter {
	return t.w
}

// Finish sends what is left once the handler has returned. A handler that
// wrote nothing still has its headers translated.
func (t *Writer) Finish() {
	if !t.wroteHeader {
		t.WriteHeader(http.StatusOK)
	}
	_ = t.flushRest()
}
