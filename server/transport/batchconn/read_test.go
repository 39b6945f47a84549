//go:build unix

// The read buffer is made by hand on Unix systems alone (read_unix.go).

package batchconn_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server/transport/batchconn"
)

// frames returns count frames laid out as HTTP/2's: a 9-byte header whose
// first 3 bytes give the payload's length and last 4 the frame's index,
// then the payload, every byte of it the index's low byte.
func frames(count int, size func(i int) int) []byte {
	var b bytes.Buffer
	for i := range count {
		n := size(i)
		var head [9]byte
		head[0], head[1], head[2] = byte(n>>16), byte(n>>8), byte(n)
		binary.BigEndian.PutUint32(head[5:], uint32(i))
		b.Write(head[:])
		b.Write(bytes.Repeat([]byte{byte(i)}, n))
	}
	return b.Bytes()
}

// readFrames reads count frames as net/http's HTTP/2 framer does, the
// header and then the payload, each with io.ReadFull, and checks that
// they are whole and in order. Payloads are read into payload, which must
// hold the largest.
func readFrames(r io.Reader, count int, payload []byte) error {
	var head [9]byte
	for i := range count {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return fmt.Errorf("frame %d header: %w", i, err)
		}
		n := int(head[0])<<16 | int(head[1])<<8 | int(head[2])
		if index := int(binary.BigEndian.Uint32(head[5:])); index != i {
			return fmt.Errorf("frame %d arrived as frame %d", index, i)
		}
		if _, err := io.ReadFull(r, payload[:n]); err != nil {
			return fmt.Errorf("frame %d payload: %w", i, err)
		}
		for _, b := range payload[:n] {
			if b != byte(i) {
				return fmt.Errorf("frame %d torn", i)
			}
		}
	}
	return nil
}

// TestBurstIsReadInFewReads checks that a burst of small frames, read as
// net/http's HTTP/2 server reads them, costs a read from the socket per
// buffer's worth rather than two per frame.
func TestBurstIsReadInFewReads(t *testing.T) {
	t.Parallel()
	const count = 1000
	burst := frames(count, func(i int) int { return 20 + i%40 })
	for _, buffered := range []bool{false, true} {
		server, counted, client := pairReading(t, batchconn.Options{}, buffered)
		errc := make(chan error, 1)
		go func() {
			_, err := client.Write(burst)
			errc <- err
		}()
		if err := readFrames(server, count, make([]byte, 64<<10)); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		reads := counted.reads.Load()
		t.Logf("buffered %v: %d frames, %d bytes in %d reads", buffered, count, len(burst), reads)
		if !buffered {
			if reads < 2*count {
				t.Errorf("%d unbuffered reads for %d frames; want at least two a frame", reads, count)
			}
			continue
		}
		// A buffer's worth a read, were the burst all there at once; allow
		// for it arriving in pieces.
		if most := int64(count / 20); reads > most {
			t.Errorf("%d buffered reads for %d frames (%d bytes); want at most %d", reads, count, len(burst), most)
		}
		if batchconn.HoldsReadBuffer(server) {
			t.Error("the connection holds a read buffer with nothing left to read")
		}
	}
}

// TestReadsArriveWholeAndInOrder checks the bytes read across buffer
// boundaries, by frames of sizes below, at and above the buffer's, and by
// reads of random sizes.
func TestReadsArriveWholeAndInOrder(t *testing.T) {
	t.Parallel()
	const count = 3000
	sizes := []int{0, 1, 7, 100, batchconn.ReadBufferSize - 10, batchconn.ReadBufferSize - 9, batchconn.ReadBufferSize, batchconn.ReadBufferSize + 1, 3 * batchconn.ReadBufferSize, 40 << 10}
	stream := frames(count, func(i int) int { return sizes[(i*7)%len(sizes)] })

	t.Run("frames", func(t *testing.T) {
		t.Parallel()
		server, _, client := pair(t, batchconn.Options{})
		go writeChunked(client, stream, 1)
		if err := readFrames(server, count, make([]byte, 64<<10)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("random reads", func(t *testing.T) {
		t.Parallel()
		server, _, client := pair(t, batchconn.Options{})
		go writeChunked(client, stream, 2)
		rnd := rand.New(rand.NewPCG(3, 4))
		got := make([]byte, 0, len(stream))
		buf := make([]byte, 64<<10)
		for len(got) < len(stream) {
			var size int
			switch rnd.IntN(4) {
			case 0:
				size = 1 + rnd.IntN(16)
			case 1:
				size = 1 + rnd.IntN(batchconn.ReadBufferSize)
			case 2:
				size = batchconn.ReadBufferSize + rnd.IntN(4)
			default:
				size = 1 + rnd.IntN(len(buf))
			}
			n, err := server.Read(buf[:size])
			if err != nil {
				t.Fatalf("after %d bytes: %v", len(got), err)
			}
			got = append(got, buf[:n]...)
		}
		if !bytes.Equal(got, stream) {
			t.Fatalf("read %d bytes that differ from the %d written", len(got), len(stream))
		}
	})
}

// writeChunked writes p to c in chunks of random sizes, some waits between
// them, so that reads meet bytes in pieces.
func writeChunked(c net.Conn, p []byte, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 1))
	for i := 0; len(p) > 0; i++ {
		n := min(len(p), 1+rnd.IntN(20<<10))
		if _, err := c.Write(p[:n]); err != nil {
			return
		}
		p = p[n:]
		if i%50 == 0 {
			// Not a wait: a pause in the writer's input, so that reads
			// also find the socket empty.
			time.Sleep(time.Millisecond)
		}
	}
}

// TestIdleReaderHoldsNoBuffer checks that a connection holds a read
// buffer only while bytes it took from the socket wait to be read, and
// none while a Read waits for more.
func TestIdleReaderHoldsNoBuffer(t *testing.T) {
	t.Parallel()
	server, _, client := pair(t, batchconn.Options{})
	if _, err := client.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(server, buf); err != nil {
		t.Fatal(err)
	}
	if !batchconn.HoldsReadBuffer(server) {
		t.Fatal("no read buffer while 6 bytes received wait to be read")
	}
	if _, err := io.ReadFull(server, make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	if batchconn.HoldsReadBuffer(server) {
		t.Fatal("a read buffer held with everything read")
	}

	read := make(chan error, 1)
	go func() {
		_, err := server.Read(buf)
		read <- err
	}()
	waitInPoller(t, "TestIdleReaderHoldsNoBuffer.func")
	if batchconn.HoldsReadBuffer(server) {
		t.Error("a Read waiting for bytes holds a read buffer")
	}
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	if batchconn.HoldsReadBuffer(server) {
		t.Error("a read buffer held with everything read")
	}
}

// TestReadDeadline checks that a blocked Read returns a timeout at its
// deadline, and reads go on once the deadline moves.
func TestReadDeadline(t *testing.T) {
	t.Parallel()
	server, _, client := pair(t, batchconn.Options{})
	const wait = 100 * time.Millisecond
	start := time.Now()
	if err := server.SetReadDeadline(start.Add(wait)); err != nil {
		t.Fatal(err)
	}
	_, err := server.Read(make([]byte, 16))
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v; want a timeout", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) || opErr.Op != "read" {
		t.Errorf("read past the deadline: %#v; want a net.OpError of op read", err)
	}
	if waited := time.Since(start); waited < wait {
		t.Errorf("read returned after %v, before its deadline, %v", waited, wait)
	}
	// Large reads, straight to the socket, too.
	if _, err := server.Read(make([]byte, 2*batchconn.ReadBufferSize)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("large read past the deadline: %v; want a timeout", err)
	}
	if err := server.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "late" {
		t.Fatalf("read %q, %v with no deadline; want late", buf, err)
	}
}

// TestCloseEndsBlockedRead checks that Close from another goroutine ends
// a blocked Read, small or large, with net.ErrClosed, and that later
// reads fail the same way even with bytes buffered.
func TestCloseEndsBlockedRead(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1, 2 * batchconn.ReadBufferSize} {
		server, _, client := pair(t, batchconn.Options{})
		read := make(chan error, 1)
		go func() {
			_, err := server.Read(make([]byte, size))
			read <- err
		}()
		waitInPoller(t, "TestCloseEndsBlockedRead.func")
		if err := server.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-read; !errors.Is(err, net.ErrClosed) {
			t.Errorf("%d-byte read blocked during Close: %v; want net.ErrClosed", size, err)
		}
		client.Close()
	}

	server, _, client := pair(t, batchconn.Options{})
	if _, err := client.Write([]byte("unread")); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	server.Close()
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after Close with bytes buffered: %v; want net.ErrClosed", err)
	}
	if batchconn.HoldsReadBuffer(server) {
		t.Error("a closed connection holds its read buffer after a Read")
	}
}

// TestPeerCloseReadsEOF checks that the end of the peer's stream reaches
// the reader as io.EOF, after every byte before it.
func TestPeerCloseReadsEOF(t *testing.T) {
	t.Parallel()
	server, _, client := pair(t, batchconn.Options{})
	want := bytes.Repeat([]byte("last"), 3000)
	if _, err := client.Write(want); err != nil {
		t.Fatal(err)
	}
	client.Close()
	var got []byte
	buf := make([]byte, 100)
	for {
		n, err := server.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Errorf("read %d bytes before EOF, want the %d written", len(got), len(want))
	}
	if _, err := server.Read(buf); err != io.EOF {
		t.Errorf("read after EOF: %v; want io.EOF", err)
	}
}

// TestReadRaces runs reads against deadlines set and the connection closed
// from other goroutines, for the race detector.
func TestReadRaces(t *testing.T) {
	t.Parallel()
	server, _, client := pair(t, batchconn.Options{})
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 100)
		for {
			if _, err := server.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
		}
	})
	wg.Go(func() {
		for i := range 200 {
			server.SetReadDeadline(time.Now().Add(time.Duration(i%3) * time.Millisecond))
			if _, err := client.Write([]byte("some bytes")); err != nil {
				return
			}
		}
		server.Close()
	})
	wg.Wait()
}

// TestReadWithoutSyscallConn checks that a connection that offers no
// SyscallConn reads through its own Read.
func TestReadWithoutSyscallConn(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	server := batchconn.NewConn(a, batchconn.Options{})
	defer server.Close()
	defer b.Close()
	if batchconn.ReadsBuffered(server) {
		t.Fatal("reads buffered on a connection without a SyscallConn")
	}
	go b.Write([]byte("through the pipe"))
	buf := make([]byte, len("through the pipe"))
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "through the pipe" {
		t.Fatalf("read %q, %v", buf, err)
	}
}

// BenchmarkReadFrames reads bursts of small frames as net/http's HTTP/2
// server does, through the socket's Read and through the read buffer, and
// reports the reads that reached the socket per frame.
//
//	go test -run '^$' -bench ReadFrames -benchmem ./server/transport/batchconn/
func BenchmarkReadFrames(b *testing.B) {
	const count = 64
	burst := frames(count, func(i int) int { return 30 + i%20 })
	for _, buffered := range []bool{false, true} {
		name := "plain"
		if buffered {
			name = "buffered"
		}
		b.Run(name, func(b *testing.B) {
			server, counted, client := pairReading(b, batchconn.Options{}, buffered)
			go func() {
				for {
					if _, err := client.Write(burst); err != nil {
						return
					}
				}
			}()
			before := counted.reads.Load()
			b.SetBytes(int64(len(burst)))
			payload := make([]byte, 64)
			for b.Loop() {
				if err := readFrames(server, count, payload); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(counted.reads.Load()-before)/float64(b.N*count), "socket-reads/frame")
		})
	}
}

// waitInPoller waits until a goroutine started by fn (a closure's name,
// as stack traces spell it) is parked in the runtime's network poller:
// the Read it runs waits for bytes, which the test then checks from
// outside rather than hoping a pause was long enough.
func waitInPoller(t *testing.T, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	if !routeguidetest.Eventually(10*time.Second, func() bool {
		n := runtime.Stack(buf, true)
		for g := range strings.SplitSeq(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "[IO wait") && strings.Contains(g, fn) && strings.Contains(g, "runtime_pollWait") {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no goroutine of %s waits in the network poller", fn)
	}
}
