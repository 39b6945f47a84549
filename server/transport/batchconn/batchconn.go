// Package batchconn gathers the writes made to a connection while earlier
// ones are on their way to the socket into one system call, as grpc-go's
// transport does, under net/http's HTTP/2 server, which flushes whenever
// its queue of frames runs dry: about three write system calls per unary
// response. It buffers reads too, which that server makes two per frame
// (header, payload). Both buffers come from pools and go back once empty,
// so an idle connection, even one with a Read waiting, holds neither.
//
// It is a fast path, and it pays: without it, routeguide-server spent 2.2×
// the CPU per GetFeature, 1.5× per ListFeatures message and 2.0× per
// RouteChat reply (BENCHMARKS.md, "The fast paths").
package batchconn

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultMaxBuffered is the most bytes a connection holds that its writer
// has handed over and the socket has not yet taken, when [Options] does not
// say.
const DefaultMaxBuffered = 32 << 10

// ReadBufferSize is the size of the buffer a connection reads into, on Unix
// systems, for a Read asking for fewer bytes: one system call then takes in
// a burst of small frames, which net/http's HTTP/2 server reads two calls
// each. A Read for this many bytes or more goes straight to the socket.
// Elsewhere reads are not buffered.
const ReadBufferSize = 4 << 10

// closeLinger bounds how long a closed connection keeps writing what it
// had buffered, if it has no write timeout of its own.
const closeLinger = 5 * time.Second

// Options configure a connection. The zero value is usable: at most
// [DefaultMaxBuffered] bytes buffered and no write timeout.
type Options struct {
	// WriteTimeout, if positive, fails a write to the socket that makes no
	// progress for this long, which closes the connection. It takes the
	// place of http.HTTP2Config's WriteByteTimeout, a deadline set around
	// every write, at the cost of one deadline per system call.
	WriteTimeout time.Duration
	// MaxBuffered is the most bytes held for the socket; a Write beyond it
	// waits for the socket to take some. Default: DefaultMaxBuffered.
	MaxBuffered int
}

// NewListener returns a listener whose connections are those of l, wrapped
// by [NewConn].
func NewListener(l net.Listener, o Options) net.Listener {
	return &listener{Listener: l, o: o}
}

type listener struct {
	net.Listener
	o Options
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return NewConn(c, l.o), nil
}

// NewConn returns c with its writes gathered. A Write copies its bytes into
// the connection's buffer and returns at once, unless the buffer is full; a
// goroutine of the connection's own, running only while there is something
// to write, hands all that has gathered to the socket in one write, and
// before a small batch yields once, so that the next writes can join it.
//
// Errors reach the caller as through a socket's own buffer: the first failed
// write to the socket closes it and is returned by every later Write and
// Read. A write deadline applies to a Write waiting for room in the buffer;
// bytes accepted are written within Options.WriteTimeout of progress. Close
// writes what is buffered, within the write timeout (or closeLinger, 5 s,
// without one), before it closes the socket; reads end at once.
//
// If c offers its socket's SyscallConn, as *net.TCPConn does, reads go to
// the socket beneath: a Read for fewer than [ReadBufferSize] bytes takes as
// many as the socket has, up to that many, into the read buffer, which
// later Reads take from. Deadlines, Close and errors are the socket's own,
// but a Read served from the buffer does not look at the deadline, as with
// a bufio.Reader. A wrapper of the socket that changes what its Read
// returns must not offer SyscallConn. Without one, reads are unbuffered.
func NewConn(c net.Conn, o Options) net.Conn {
	if o.MaxBuffered <= 0 {
		o.MaxBuffered = DefaultMaxBuffered
	}
	bc := &conn{Conn: c, timeout: o.WriteTimeout, max: o.MaxBuffered}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			bc.reader = newReader(raw)
		}
	}
	return bc
}

type conn struct {
	net.Conn
	timeout time.Duration
	max     int

	reader *reader // buffered reads from the socket; nil if c offers no SyscallConn

	// readsEnded is set, with closed or err, when reads end: what the
	// reader buffered is then not to be read.
	readsEnded atomic.Bool

	writeMu sync.Mutex // makes each Write's bytes contiguous, as a socket's are

	mu       sync.Mutex    // protects the fields below
	buf      *[]byte       // accepted, not yet handed to the socket; nil when empty
	flushing bool          // whether the flush goroutine runs
	err      error         // the first error writing to the socket
	closed   bool          // whether Close has been called
	deadline time.Time     // the write deadline, for Writes waiting for room
	wake     chan struct{} // closed when the buffer drains or the state changes; nil if none wait
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func (c *conn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	n := 0
	for {
		c.mu.Lock()
		if err := c.writableLocked(); err != nil {
			c.mu.Unlock()
			return n, err
		}
		if k := min(c.max-c.buffered(), len(p)-n); k > 0 {
			if c.buf == nil {
				c.buf = bufPool.Get().(*[]byte)
			}
			*c.buf = append(*c.buf, p[n:n+k]...)
			n += k
			if !c.flushing {
				c.flushing = true
				go c.flush()
			}
		}
		if n == len(p) {
			c.mu.Unlock()
			return n, nil
		}
		wake := c.wakeLocked()
		var timeout <-chan time.Time // none without a deadline
		if !c.deadline.IsZero() {
			timeout = time.After(time.Until(c.deadline))
		}
		c.mu.Unlock()
		select {
		case <-wake:
		case <-timeout:
		}
	}
}

// writableLocked returns the error a Write gets now, if any.
func (c *conn) writableLocked() error {
	switch {
	case c.closed:
		return c.opError("write", net.ErrClosed)
	case c.err != nil:
		return c.err
	case !c.deadline.IsZero() && !time.Now().Before(c.deadline):
		return c.opError("write", os.ErrDeadlineExceeded)
	}
	return nil
}

func (c *conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

func (c *conn) buffered() int {
	if c.buf == nil {
		return 0
	}
	return len(*c.buf)
}

// wakeLocked returns a channel closed by the next wakeAllLocked.
func (c *conn) wakeLocked() chan struct{} {
	if c.wake == nil {
		c.wake = make(chan struct{})
	}
	return c.wake
}

func (c *conn) wakeAllLocked() {
	if c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
}

// flush hands what has gathered to the socket until nothing is left, then
// ends; it closes the socket if Close was called meanwhile.
func (c *conn) flush() {
	yielded := false
	for {
		c.mu.Lock()
		if c.buffered() == 0 || c.err != nil {
			c.flushing = false
			c.wakeAllLocked()
			closing := c.closed
			c.mu.Unlock()
			if closing {
				c.Conn.Close()
			}
			return
		}
		if !yielded && c.buffered() < c.max/2 {
			// Let the goroutines that are about to write run first.
			c.mu.Unlock()
			yielded = true
			runtime.Gosched()
			continue
		}
		yielded = false
		batch := c.buf
		c.buf = nil
		linger := c.closed
		// Room in the buffer again: wake Writes that wait for it.
		c.wakeAllLocked()
		c.mu.Unlock()

		err := c.writeSocket(*batch, linger)
		*batch = (*batch)[:0]
		bufPool.Put(batch)
		if err != nil {
			c.Conn.Close() // a connection with a torn write is of no use
			c.mu.Lock()
			c.err = err
			c.readsEnded.Store(true)
			c.mu.Unlock()
		}
	}
}

// writeSocket writes p whole, failing once the socket takes nothing for the
// write timeout, or for closeLinger if closing without one.
func (c *conn) writeSocket(p []byte, closing bool) error {
	timeout := c.timeout
	if closing && timeout <= 0 {
		timeout = closeLinger
	}
	for {
		if timeout > 0 {
			c.Conn.SetWriteDeadline(time.Now().Add(timeout))
		}
		n, err := c.Conn.Write(p)
		p = p[n:]
		if err == nil || n == 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		// Some progress before the deadline: go on with a fresh one.
	}
}

// SetWriteDeadline sets the deadline for Writes waiting for room in the
// buffer; see [NewConn].
func (c *conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	c.wakeAllLocked()
	return nil
}

// SetDeadline sets the read deadline of the socket and the write deadline
// of SetWriteDeadline.
func (c *conn) SetDeadline(t time.Time) error {
	c.SetWriteDeadline(t)
	return c.SetReadDeadline(t)
}

// SetReadDeadline passes t on to the socket, unless the connection is
// closed and its reads ended.
func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return c.opError("write", net.ErrClosed)
	}
	return c.Conn.SetReadDeadline(t)
}

// Read reads from the socket, through the read buffer if the socket offers
// its SyscallConn (see [NewConn]). Once the connection is closed, or a
// write to it has failed, it returns that.
func (c *conn) Read(p []byte) (int, error) {
	var n int
	var err error
	switch {
	case c.reader == nil:
		n, err = c.Conn.Read(p)
	case c.readsEnded.Load():
		c.reader.drop()
		err = net.ErrClosed
	default:
		n, err = c.reader.read(c.Conn, p)
	}
	if err != nil {
		c.mu.Lock()
		switch {
		case c.closed:
			err = c.opError("read", net.ErrClosed)
		case c.err != nil:
			err = c.err
		}
		c.mu.Unlock()
	}
	return n, err
}

// Close closes the connection. What is buffered is still written, on the
// flush goroutine, before the socket is closed; reads end at once.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opError("write", net.ErrClosed)
	}
	c.closed = true
	c.readsEnded.Store(true)
	c.wakeAllLocked()
	flushing, failed := c.flushing, c.err != nil
	c.mu.Unlock()
	if failed {
		return nil // the flush goroutine closed the socket
	}
	if !flushing {
		return c.Conn.Close()
	}
	// The flush goroutine closes the socket once the buffer is written;
	// meanwhile a blocked read must end now, and a blocked write at last.
	c.Conn.SetReadDeadline(time.Now())
	if c.timeout <= 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(closeLinger))
	}
	return nil
}

// CloseWrite writes what is buffered, then shuts down the writing side of
// the socket, if it has one: net/http does so before closing a connection
// whose request it did not read whole.
func (c *conn) CloseWrite() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.Lock()
	for c.flushing && c.err == nil {
		wake := c.wakeLocked()
		c.mu.Unlock()
		<-wake
		c.mu.Lock()
	}
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
