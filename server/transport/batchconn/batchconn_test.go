package batchconn_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/routeguide/routeguide/server/transport/batchconn"
)

// Flush goroutines end once their bytes are written; none may outlive the
// tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// countingConn counts the writes that reach the socket: on a TCP
// connection each is at least one write system call. It counts the reads
// too: each call of its Read, and each read made through the RawConn it
// offers (see countingRawConn).
type countingConn struct {
	net.Conn
	writes atomic.Int64
	reads  atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

func (c *countingConn) SyscallConn() (syscall.RawConn, error) {
	raw, err := c.Conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil, err
	}
	return &countingRawConn{RawConn: raw, reads: &c.reads}, nil
}

// countingRawConn counts the reads made through it that found bytes, an
// end of stream or an error: the read system calls that reached the
// socket, less those that found nothing to read and left the poller to
// wait. A socket's own Read makes those too, so this is how its calls
// compare.
type countingRawConn struct {
	syscall.RawConn
	reads *atomic.Int64
}

func (r *countingRawConn) Read(f func(fd uintptr) bool) error {
	return r.RawConn.Read(func(fd uintptr) bool {
		done := f(fd)
		if done {
			r.reads.Add(1)
		}
		return done
	})
}

func (c *countingConn) CloseWrite() error {
	return c.Conn.(*net.TCPConn).CloseWrite()
}

// pair returns a loopback TCP connection, the server's side wrapped and
// counted, and the client's side bare. Both are closed when the test ends.
func pair(t testing.TB, o batchconn.Options) (server net.Conn, counted *countingConn, client *net.TCPConn) {
	t.Helper()
	return pairReading(t, o, true)
}

// plainReads hides the SyscallConn of the connection it wraps, so that
// batchconn reads through its Read.
type plainReads struct {
	net.Conn
}

// pairReading is pair, with the server's side offering batchconn its
// SyscallConn only if buffered.
func pairReading(t testing.TB, o batchconn.Options, buffered bool) (server net.Conn, counted *countingConn, client *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	cc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc := <-accepted
	if sc == nil {
		t.Fatal("accept failed")
	}
	counted = &countingConn{Conn: sc}
	if buffered {
		server = batchconn.NewConn(counted, o)
	} else {
		server = batchconn.NewConn(plainReads{counted}, o)
	}
	if batchconn.ReadsBuffered(server) != (buffered && batchconn.ReadBufferMade) {
		t.Fatalf("reads buffered: %v, want %v", !buffered, buffered)
	}
	t.Cleanup(func() {
		server.Close()
		cc.Close()
	})
	return server, counted, cc.(*net.TCPConn)
}

// record is a write of its own length and index, so a reader can tell
// whether writes arrived whole and in order.
func record(i, size int) []byte {
	p := bytes.Repeat([]byte{byte(i)}, size)
	binary.BigEndian.PutUint32(p, uint32(size))
	binary.BigEndian.PutUint32(p[4:], uint32(i))
	return p
}

func readRecord(r io.Reader) (index int, err error) {
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, err
	}
	size, index := int(binary.BigEndian.Uint32(head[:])), int(binary.BigEndian.Uint32(head[4:]))
	rest := make([]byte, size-8)
	if _, err := io.ReadFull(r, rest); err != nil {
		return 0, err
	}
	for _, b := range rest {
		if b != byte(index) {
			return index, fmt.Errorf("record %d torn", index)
		}
	}
	return index, nil
}

func TestWritesArriveWholeAndInOrder(t *testing.T) {
	t.Parallel()
	server, counted, client := pair(t, batchconn.Options{MaxBuffered: 16 << 10})
	const count = 2000
	done := make(chan error, 1)
	go func() {
		for i := range count {
			// Sizes from 8 bytes to past the buffer, so some writes
			// wait for room and go out in parts.
			if _, err := server.Write(record(i, 8+(i*97)%(40<<10))); err != nil {
				done <- err
				return
			}
		}
		done <- server.Close()
	}()
	for i := range count {
		got, err := readRecord(client)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got != i {
			t.Fatalf("got record %d, want %d", got, i)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after the last record: %d bytes, %v; want EOF", n, err)
	}
	t.Logf("%d writes reached the socket in %d", count, counted.writes.Load())
}

func TestConcurrentWritesStayWhole(t *testing.T) {
	t.Parallel()
	server, _, client := pair(t, batchconn.Options{MaxBuffered: 4 << 10})
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := server.Write(record(w, 64+i*13)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := make(map[int]int)
	for range writers * each {
		w, err := readRecord(client)
		if err != nil {
			t.Fatal(err)
		}
		seen[w]++
	}
	wg.Wait()
	for w := range writers {
		if seen[w] != each {
			t.Errorf("writer %d: %d records, want %d", w, seen[w], each)
		}
	}
}

// TestBurstIsGathered checks that writes made while others are on their way
// to the socket share system calls.
func TestBurstIsGathered(t *testing.T) {
	t.Parallel()
	server, counted, client := pair(t, batchconn.Options{})
	const count = 5000
	go func() {
		for i := range count {
			if _, err := server.Write(record(i, 40)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range count {
		if _, err := readRecord(client); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if got := counted.writes.Load(); got > count/4 {
		t.Errorf("%d writes took %d writes to the socket; want at most %d", count, got, count/4)
	}
}

// TestWriteTimeout checks that a peer that stops reading makes writes fail
// once the socket takes nothing for the write timeout, and then reads too.
func TestWriteTimeout(t *testing.T) {
	t.Parallel()
	server, _, _ := pair(t, batchconn.Options{WriteTimeout: 100 * time.Millisecond})
	err := writeUntilError(t, server)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a peer that does not read: %v; want a deadline error", err)
	}
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read after the failed write: %v; want the write's error", err)
	}
	if _, err := server.Write([]byte("more")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("write after the failed write: %v; want the same error", err)
	}
}

// writeUntilError writes to c until a write fails, for at most 20 seconds.
func writeUntilError(t *testing.T, c net.Conn) error {
	t.Helper()
	chunk := make([]byte, 8<<10)
	for start := time.Now(); time.Since(start) < 20*time.Second; {
		if _, err := c.Write(chunk); err != nil {
			return err
		}
	}
	t.Fatal("writes to a peer that does not read never failed")
	return nil
}

// TestWriteDeadline checks that a write deadline ends a Write waiting for
// room, as a socket's would, with a timeout error.
func TestWriteDeadline(t *testing.T) {
	t.Parallel()
	server, _, _ := pair(t, batchconn.Options{})
	if err := server.SetWriteDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	err := writeUntilError(t, server)
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write past the deadline: %v; want a timeout", err)
	}
	// A deadline in the past fails a write at once, even with room.
	if _, err := server.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("write after the deadline: %v; want a deadline error", err)
	}
}

// TestPeerGoneFailsWrites checks that a reset from the peer reaches the
// writer.
func TestPeerGoneFailsWrites(t *testing.T) {
	t.Parallel()
	server, _, client := pair(t, batchconn.Options{})
	client.SetLinger(0) // close with a reset
	client.Close()
	err := writeUntilError(t, server)
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		t.Fatalf("write to a reset connection: %v; want the socket's error", err)
	}
	t.Logf("write error: %v", err)
}

// TestCloseWritesWhatIsBuffered checks that bytes accepted before Close
// reach the peer, and reads end at once.
func TestCloseWritesWhatIsBuffered(t *testing.T) {
	t.Parallel()
	server, _, client := pair(t, batchconn.Options{})
	readErr := make(chan error, 1)
	go func() {
		_, err := server.Read(make([]byte, 1))
		readErr <- err
	}()
	want := bytes.Repeat([]byte("goaway"), 10_000)
	if _, err := server.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-readErr; !errors.Is(err, net.ErrClosed) {
		t.Errorf("read blocked during Close: %v; want net.ErrClosed", err)
	}
	if _, err := server.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v; want net.ErrClosed", err)
	}
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("peer read %d bytes, want the %d written before Close", len(got), len(want))
	}
}

// TestCloseWrite checks that CloseWrite sends what is buffered, then the
// end of the stream, and the connection can still read.
func TestCloseWrite(t *testing.T) {
	t.Parallel()
	server, _, client := pair(t, batchconn.Options{})
	if _, err := server.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	if err := server.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(client)
	if err != nil || string(got) != "last words" {
		t.Fatalf("peer read %q, %v; want the words and EOF", got, err)
	}
	if _, err := client.Write([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "reply" {
		t.Fatalf("read %q, %v after CloseWrite; want reply", buf, err)
	}
}

// TestListener checks that accepted connections are wrapped.
func TestListener(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := batchconn.NewListener(inner, batchconn.Options{})
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo until the client closes
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 100 {
		msg := fmt.Sprintf("ping %d", i)
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q, %v; want %q", buf, err, msg)
		}
	}
}
