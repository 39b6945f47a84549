//go:build unix

package batchconn

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// readPool holds read buffers of ReadBufferSize bytes, full length.
var readPool = sync.Pool{New: func() any { b := make([]byte, ReadBufferSize); return &b }}

// maxRead caps one read system call, as the net package does: some
// systems fail larger ones.
const maxRead = 1 << 30

// reader is the read side of a conn whose socket offers its file
// descriptor. Reads wait in the runtime's poller, as the socket's own Read
// does, holding no buffer: one is taken from readPool once bytes are there,
// and returned when they are all read.
type reader struct {
	raw syscall.RawConn

	mu sync.Mutex // serializes Reads, as the socket's own lock does; protects the fields below
	// buf holds the bytes received and not yet read, in a buffer from
	// readPool; nil when there are none. It is atomic only so that a test
	// can see, while a Read waits, that it holds no buffer.
	buf atomic.Pointer[[]byte]
	off int // how much of *buf has been read

	// The arguments and results of readSocket, a method value made once
	// so that Read does not allocate a closure for every call.
	readFn func(fd uintptr) bool
	dst    []byte // where readSocket reads to; nil for a buffer of its own
	n      int
	err    error
}

func newReader(raw syscall.RawConn) *reader {
	r := &reader{raw: raw}
	r.readFn = r.readSocket
	return r
}

// read reads into p, from what is buffered if anything is, or else from
// the socket. Errors are those of the socket's own Read.
func (r *reader) read(c net.Conn, p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.buf.Load(); b != nil {
		return r.copyOut(b, p), nil
	}
	if len(p) == 0 {
		return 0, nil
	}
	direct := len(p) >= ReadBufferSize
	if direct {
		r.dst = p[:min(len(p), maxRead)]
	}
	err := r.raw.Read(r.readFn)
	n, rerr := r.n, r.err
	r.dst, r.n, r.err = nil, 0, nil
	switch {
	case err != nil:
		// The poller's own error: a deadline, or the socket closed. The
		// net package reports it as the raw-read op; a Read's is "read".
		var op *net.OpError
		if errors.As(err, &op) {
			e := *op
			e.Op = "read"
			err = &e
		}
		return 0, err
	case rerr != nil:
		return 0, &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", rerr)}
	case n == 0:
		return 0, io.EOF
	case direct:
		return n, nil
	}
	return r.copyOut(r.buf.Load(), p), nil
}

// readSocket makes one read system call on fd, retrying only when
// interrupted. Without bytes to read it returns the buffer it took and
// reports false, for the poller to wait for some.
func (r *reader) readSocket(fd uintptr) bool {
	dst := r.dst
	var b *[]byte
	if dst == nil {
		b = readPool.Get().(*[]byte)
		dst = *b
	}
	var n int
	var err error
	for {
		n, err = syscall.Read(int(fd), dst)
		if err != syscall.EINTR {
			break
		}
	}
	if err == syscall.EAGAIN {
		if b != nil {
			readPool.Put(b)
		}
		return false
	}
	if err != nil {
		n = 0
	}
	r.n, r.err = n, err
	if b != nil {
		if n > 0 {
			*b = (*b)[:n]
			r.buf.Store(b)
			r.off = 0
		} else {
			readPool.Put(b)
		}
	}
	return true
}

// copyOut copies the unread bytes of b, the buffer, into p, returning the
// buffer to the pool once all are read.
func (r *reader) copyOut(b *[]byte, p []byte) int {
	n := copy(p, (*b)[r.off:])
	r.off += n
	if r.off == len(*b) {
		r.release(b)
	}
	return n
}

func (r *reader) release(b *[]byte) {
	r.buf.Store(nil)
	r.off = 0
	*b = (*b)[:cap(*b)]
	readPool.Put(b)
}

// drop discards what is buffered: the connection's reads have ended.
func (r *reader) drop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.buf.Load(); b != nil {
		r.release(b)
	}
}
