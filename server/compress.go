package server

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"connectrpc.com/connect"
)

// compressMinBytes is the smallest response message the server compresses
// when the client accepts compression. connect-go compresses every message
// by default, and its clients offer gzip by default, but a RouteGuide
// message is tens of bytes: gzip makes it no smaller and, by resetting a
// compressor per message, made each RouteChat reply cost ten times the CPU
// of the grpc-go reference's uncompressed one.
const compressMinBytes = 1024

// withBoundedGzip replaces connect-go's gzip with one whose decompressor
// stops once a message has inflated past maxBytes. connect-go's own reads
// one byte past the limit and then inflates the rest of the message to
// report its size: for a body of 4 MB that inflates to 4 GB, about two
// seconds of CPU spent on a message it refuses anyway.
func withBoundedGzip(maxBytes int) connect.HandlerOption {
	return connect.WithCompression("gzip",
		func() connect.Decompressor { return &boundedGzip{limit: int64(maxBytes)} },
		func() connect.Compressor { return gzip.NewWriter(io.Discard) },
	)
}

// boundedGzip is a gzip decompressor that fails rather than inflate more
// than limit+1 bytes, one more than a message may have, so that connect-go
// sees that the message is too large and answers resource_exhausted.
type boundedGzip struct {
	gzip  gzip.Reader
	ready bool  // whether gzip has been Reset onto a source
	limit int64 // the largest message
	read  int64 // bytes inflated since the last Reset
}

var errInflatedTooLarge = errors.New("stopped decompressing")

func (d *boundedGzip) Read(p []byte) (int, error) {
	if !d.ready {
		return 0, io.ErrUnexpectedEOF
	}
	if d.read > d.limit {
		return 0, fmt.Errorf("%w past %d bytes", errInflatedTooLarge, d.limit)
	}
	if room := d.limit + 1 - d.read; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := d.gzip.Read(p)
	d.read += int64(n)
	return n, err
}

func (d *boundedGzip) Reset(r io.Reader) error {
	d.read = 0
	d.ready = false
	if err := d.gzip.Reset(r); err != nil {
		return err
	}
	d.ready = true
	return nil
}

func (d *boundedGzip) Close() error {
	if !d.ready {
		return nil
	}
	return d.gzip.Close()
}
