package grpcwebtext

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"connectrpc.com/connect/v2"
)

// decodeChunk is how much base64 a decoder reads from its source at a time:
// 1 KiB, which decodes to 768 bytes. RouteGuide's messages are tens of
// bytes; a larger buffer would only cost each open stream memory.
const decodeChunk = 1 << 10

// decoder reads the base64 of a request body and returns the bytes it
// stands for, holding at most decodeChunk bytes of base64 and what they
// decode to. Padding may end any group of four, as chunks follow one another.
type decoder struct {
	src io.ReadCloser
	// in[:n] is base64 read from src and not yet decoded: fewer than four
	// characters between reads.
	in [decodeChunk]byte
	n  int
	// out[off:len(out)] is decoded and not yet returned.
	out  []byte
	off  int
	read int64 // base64 characters decoded so far, for error messages
	err  error // sticky: once set, every Read returns it
}

func newDecoder(src io.ReadCloser) *decoder {
	return &decoder{src: src, out: make([]byte, 0, decodeChunk/4*3)}
}

// errBadBase64 is what every decoding error wraps.
var errBadBase64 = errors.New("request body is not valid base64")

func (d *decoder) Read(p []byte) (int, error) {
	for d.off == len(d.out) {
		if d.err != nil {
			return 0, d.err
		}
		d.fill()
	}
	n := copy(p, d.out[d.off:])
	d.off += n
	return n, nil
}

// fill reads more base64 from src and decodes every whole group, or sets err.
func (d *decoder) fill() {
	m, err := d.src.Read(d.in[d.n:])
	// Line breaks, as base64(1) puts every 76 characters, are not part of
	// the data.
	kept := d.n
	for _, c := range d.in[d.n : d.n+m] {
		if c != '\r' && c != '\n' {
			d.in[kept] = c
			kept++
		}
	}
	d.n = kept
	whole := d.n - d.n%4
	d.out = d.out[:0]
	d.off = 0
	if decodeErr := d.decode(d.in[:whole]); decodeErr != nil {
		d.err = decodeErr
		return
	}
	d.n = copy(d.in[:], d.in[whole:d.n])
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) && d.n > 0:
		d.err = invalid(fmt.Errorf("%w: its last group of 4 characters has only %d; pad each chunk with '='",
			errBadBase64, d.n))
	default:
		// io.EOF at a group boundary, or a failed read, such as a read
		// deadline passing: passed on as it is.
		d.err = err
	}
}

// decode appends to out the bytes that b, complete groups of four
// characters, stands for. Each run of groups that ends in padding is
// decoded on its own, since padding ends a chunk.
func (d *decoder) decode(b []byte) error {
	for len(b) > 0 {
		run := b
		if i := bytes.IndexByte(b, '='); i >= 0 {
			run = b[:i/4*4+4]
		}
		out := d.out[len(d.out) : len(d.out)+len(run)/4*3]
		n, err := base64.StdEncoding.Decode(out, run)
		if err != nil {
			var corrupt base64.CorruptInputError
			if errors.As(err, &corrupt) {
				return invalid(fmt.Errorf("%w: bad character or padding at character %d (after line breaks are removed); "+
					"use the standard alphabet (A-Z, a-z, 0-9, +, /) in groups of 4 padded with '='",
					errBadBase64, d.read+int64(corrupt)))
			}
			return invalid(fmt.Errorf("%w: %w", errBadBase64, err))
		}
		d.out = d.out[:len(d.out)+n]
		d.read += int64(len(run))
		b = b[len(run):]
	}
	return nil
}

// invalid makes err the caller's mistake, so that connect-go, which passes
// on a *connect.Error from a read as it is, answers invalid_argument.
func invalid(err error) error {
	return connect.NewError(connect.CodeInvalidArgument, err.Error()).WithCause(err)
}

func (d *decoder) Close() error {
	return d.src.Close()
}
