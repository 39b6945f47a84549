package transport

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/routeguide/routeguide/server/limits"
)

// countingListener accepts TCP connections that count their reads: each
// call of Read, and each read through the RawConn they offer that found
// bytes or the end of the stream.
type countingListener struct {
	net.Listener
	reads atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countedConn{TCPConn: c.(*net.TCPConn), reads: &l.reads}, nil
}

type countedConn struct {
	*net.TCPConn
	reads *atomic.Int64
}

func (c *countedConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.TCPConn.Read(p)
}

func (c *countedConn) SyscallConn() (syscall.RawConn, error) {
	raw, err := c.TCPConn.SyscallConn()
	return countedRawConn{RawConn: raw, reads: c.reads}, err
}

type countedRawConn struct {
	syscall.RawConn
	reads *atomic.Int64
}

func (r countedRawConn) Read(f func(fd uintptr) bool) error {
	return r.RawConn.Read(func(fd uintptr) bool {
		done := f(fd)
		if done {
			r.reads.Add(1)
		}
		return done
	})
}

// listen returns Listener over a counting loopback listener, closed when
// the test ends.
func listen(t *testing.T, l limits.Limits) (net.Listener, *countingListener) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingListener{Listener: inner}
	listener := Listener(counted, l, new(http.Server))
	t.Cleanup(func() { listener.Close() })
	return listener, counted
}

func dial(t *testing.T, l net.Listener) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func acceptAsync(l net.Listener) <-chan net.Conn {
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	return accepted
}

// TestListenerLimitsConnections checks that Listener accepts no more than
// MaxConnections at once, takes a waiting one once another closes, and
// ends a waiting Accept when closed.
func TestListenerLimitsConnections(t *testing.T) {
	t.Parallel()
	l, _ := listen(t, limits.Limits{MaxConnections: 2})
	for range 3 {
		dial(t, l)
	}
	var open []net.Conn
	for range 2 {
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	third := acceptAsync(l)
	select {
	case <-third:
		t.Fatal("a third connection accepted with two open, the limit")
	case <-time.After(100 * time.Millisecond):
	}
	open[0].Close()
	open[0].Close() // a second Close makes no more room
	select {
	case c, ok := <-third:
		if !ok {
			t.Fatal("accept failed")
		}
		open[0] = c
	case <-time.After(5 * time.Second):
		t.Fatal("no connection accepted after one of the two closed")
	}

	dial(t, l)
	fourth := acceptAsync(l)
	select {
	case <-fourth:
		t.Fatal("a fourth connection accepted with two open, the limit")
	case <-time.After(100 * time.Millisecond):
	}
	l.Close()
	select {
	case c, ok := <-fourth:
		if ok {
			c.Close()
			t.Fatal("a connection accepted after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a waiting Accept")
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("accept after Close: %v; want net.ErrClosed", err)
	}
	for _, c := range open {
		c.Close()
	}
}

// TestListenerConnsReachTheSocket checks that the connections Listener
// accepts read a burst through batchconn's buffer, which needs the
// socket's SyscallConn past the connection limit, and shut down their
// writing side when net/http asks.
func TestListenerConnsReachTheSocket(t *testing.T) {
	t.Parallel()
	l, counted := listen(t, limits.Limits{})
	client := dial(t, l)
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	const count = 500
	go func() {
		burst := make([]byte, 0, count*10)
		for i := range count {
			burst = append(burst, byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9)
		}
		client.Write(burst)
	}()
	buf := make([]byte, 10)
	for i := range count {
		if _, err := io.ReadFull(server, buf[:1]); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(server, buf[1:]); err != nil {
			t.Fatal(err)
		}
		if buf[0] != byte(i) || buf[9] != 9 {
			t.Fatalf("record %d read as %v", i, buf)
		}
	}
	if reads := counted.reads.Load(); reads > count/10 {
		t.Errorf("%d reads from the socket for %d records read in two parts; want a few, through a buffer", reads, count)
	}

	cw, ok := server.(interface{ CloseWrite() error })
	if !ok {
		t.Fatal("accepted connection has no CloseWrite")
	}
	if _, err := server.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := io.ReadAll(client); err != nil || string(got) != "bye" {
		t.Errorf("peer read %q, %v after CloseWrite; want bye and EOF", got, err)
	}
}

// TestListenerTimesWritesForTheServer checks that a server served through
// Listener leaves the timing of its writes to batchconn, which closes a
// connection whose writes make no progress (TestConnectionWriteTimeout,
// through the command), rather than timing them twice.
func TestListenerTimesWritesForTheServer(t *testing.T) {
	if batchconnOff {
		t.Skip("built without batchconn")
	}
	l := limits.Limits{WriteTimeout: 3 * time.Second}
	s := NewHTTPServer(nil, l, false)
	if s.HTTP2.WriteByteTimeout != l.WriteTimeout {
		t.Fatalf("NewHTTPServer: WriteByteTimeout %v, want %v", s.HTTP2.WriteByteTimeout, l.WriteTimeout)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listener := Listener(inner, l, s)
	defer listener.Close()
	if s.HTTP2.WriteByteTimeout != 0 {
		t.Errorf("after Listener: WriteByteTimeout %v, want 0", s.HTTP2.WriteByteTimeout)
	}
}
