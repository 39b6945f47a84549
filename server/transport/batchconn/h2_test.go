package batchconn_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/routeguide/routeguide/server/transport/batchconn"
)

// countingListener counts the writes and reads on the sockets of the
// connections it accepts, below any wrapping. Its connections offer their
// socket's SyscallConn, counting the reads made through it, if rawReads.
type countingListener struct {
	net.Listener
	rawReads bool
	writes   atomic.Int64
	reads    atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &listenerConn{Conn: c, l: l}
	if l.rawReads {
		return rawListenerConn{lc}, nil
	}
	return lc, nil
}

type listenerConn struct {
	net.Conn
	l *countingListener
}

func (c *listenerConn) Write(p []byte) (int, error) {
	c.l.writes.Add(1)
	return c.Conn.Write(p)
}

func (c *listenerConn) Read(p []byte) (int, error) {
	c.l.reads.Add(1)
	return c.Conn.Read(p)
}

// rawListenerConn is a listenerConn that offers its socket's SyscallConn.
type rawListenerConn struct {
	*listenerConn
}

func (c rawListenerConn) SyscallConn() (syscall.RawConn, error) {
	raw, err := c.Conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil, err
	}
	return &countingRawConn{RawConn: raw, reads: &c.l.reads}, nil
}

// serverMode says how h2cServer's connections are wrapped.
type serverMode struct {
	name    string
	batched bool // wrapped by batchconn
	buffer  bool // and offering it the socket's SyscallConn, for buffered reads
}

var (
	plain    = serverMode{"plain", false, false}
	batched  = serverMode{"batched", true, false}
	buffered = serverMode{"batched+buffered", true, true}
)

// h2cServer serves over HTTP/1.1 and unencrypted HTTP/2, its connections
// wrapped as mode says, and returns its URL and the counts of its socket
// writes and reads. At /echo it writes back what a request's body brings
// as it arrives; anywhere else it answers with a small prebuilt body.
func h2cServer(t testing.TB, mode serverMode) (string, *countingListener) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingListener{Listener: inner, rawReads: mode.buffer}
	var l net.Listener = counted
	if mode.batched {
		l = batchconn.NewListener(l, batchconn.Options{WriteTimeout: 10 * time.Second})
	}
	body := make([]byte, 64)
	s := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			if r.URL.Path == "/echo" {
				echo(w, r)
				return
			}
			io.Copy(io.Discard, r.Body)
			w.Write(body)
		}),
		Protocols: new(http.Protocols),
	}
	s.Protocols.SetHTTP1(true)
	s.Protocols.SetUnencryptedHTTP2(true)
	go s.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return "http://" + inner.Addr().String(), counted
}

// echo writes back, flushed, each piece of the request's body as it is
// read, as RouteChat answers each note.
func echo(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	rc.Flush()
	buf := make([]byte, 256)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			w.Write(buf[:n])
			rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// stream is a call to /echo, sending and receiving as it goes.
type stream struct {
	send io.WriteCloser
	res  *http.Response
}

func openStream(ctx context.Context, c *http.Client, url string) (*stream, error) {
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/echo", pr)
	if err != nil {
		return nil, err
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	return &stream{send: pw, res: res}, nil
}

// roundTrip sends msg and reads its echo.
func (s *stream) roundTrip(msg []byte) error {
	if _, err := s.send.Write(msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(s.res.Body, got); err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("echo %q, want %q", got, msg)
	}
	return nil
}

func (s *stream) close() error {
	s.send.Close()
	_, err := io.Copy(io.Discard, s.res.Body)
	s.res.Body.Close()
	return err
}

func h2cClient(t testing.TB) *http.Client {
	transport := &http.Transport{Protocols: new(http.Protocols)}
	transport.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}
}

func get(c *http.Client, url string) error {
	res, err := c.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return err
}

// TestHTTP2Server checks that net/http's servers work over batched
// connections, HTTP/2 with many streams at once and HTTP/1.1.
func TestHTTP2Server(t *testing.T) {
	t.Parallel()
	url, _ := h2cServer(t, buffered)
	h2 := h2cClient(t)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 50 {
				if err := get(h2, url); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	h1 := &http.Client{Transport: &http.Transport{}}
	defer h1.CloseIdleConnections()
	for range 10 {
		if err := get(h1, url); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkHTTP2Unary measures small responses on one HTTP/2 connection
// with 64 requests in flight, with and without batched writes, and reports
// the writes that reached the socket per request.
//
//	go test -run '^$' -bench HTTP2Unary -benchmem ./server/transport/batchconn/
func BenchmarkHTTP2Unary(b *testing.B) {
	for _, mode := range []serverMode{plain, batched, buffered} {
		b.Run(mode.name, func(b *testing.B) {
			url, counted := h2cServer(b, mode)
			c := h2cClient(b)
			if err := get(c, url); err != nil { // one connection, made now
				b.Fatal(err)
			}
			writes, reads := counted.writes.Load(), counted.reads.Load()
			b.SetParallelism(64)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(c, url); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(counted.writes.Load()-writes)/float64(b.N), "socket-writes/op")
			b.ReportMetric(float64(counted.reads.Load()-reads)/float64(b.N), "socket-reads/op")
		})
	}
}

// TestHTTP2Streams checks that many streams on one HTTP/2 connection,
// each sending small messages and reading their echoes, as RouteChat's
// do, get every message back whole over batched and buffered connections.
func TestHTTP2Streams(t *testing.T) {
	t.Parallel()
	url, counted := h2cServer(t, buffered)
	echoOnStreams(t, h2cClient(t), url, 16, 100)
	t.Logf("1600 round trips: %d socket reads, %d socket writes", counted.reads.Load(), counted.writes.Load())
}

// TestHTTP2OverTLS checks that net/http's HTTP/2 server over TLS, which
// reads through tls.Conn's own buffer, works over batched and buffered
// connections.
func TestHTTP2OverTLS(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingListener{Listener: inner, rawReads: true}
	s := httptest.NewUnstartedServer(http.HandlerFunc(echo))
	s.Listener.Close()
	s.Listener = batchconn.NewListener(counted, batchconn.Options{WriteTimeout: 10 * time.Second})
	s.EnableHTTP2 = true
	s.StartTLS()
	defer s.Close()
	c := s.Client()
	defer c.CloseIdleConnections()
	echoOnStreams(t, c, s.URL, 16, 50)
	t.Logf("800 round trips over TLS: %d socket reads, %d socket writes", counted.reads.Load(), counted.writes.Load())
}

// echoOnStreams opens streams streams to url over HTTP/2 through c, and on
// each sends notes messages, one at a time, checking each one's echo.
func echoOnStreams(t *testing.T, c *http.Client, url string, streams, notes int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range streams {
		wg.Go(func() {
			st, err := openStream(t.Context(), c, url)
			if err != nil {
				t.Error(err)
				return
			}
			if st.res.ProtoMajor != 2 {
				t.Errorf("served over %s, want HTTP/2", st.res.Proto)
			}
			for j := range notes {
				if err := st.roundTrip(fmt.Appendf(nil, "stream %d, note %d", i, j)); err != nil {
					t.Error(err)
					break
				}
			}
			if err := st.close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// BenchmarkHTTP2Stream measures small messages echoed on 16 streams of
// one HTTP/2 connection, as RouteChat's notes, with plain connections,
// batched writes, and batched writes with buffered reads, and reports the
// reads and writes that reached the socket per message.
//
//	go test -run '^$' -bench HTTP2Stream -benchmem ./server/transport/batchconn/
func BenchmarkHTTP2Stream(b *testing.B) {
	for _, mode := range []serverMode{plain, batched, buffered} {
		b.Run(mode.name, func(b *testing.B) {
			url, counted := h2cServer(b, mode)
			c := h2cClient(b)
			if err := get(c, url); err != nil { // one connection, made now
				b.Fatal(err)
			}
			writes, reads := counted.writes.Load(), counted.reads.Load()
			b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				s, err := openStream(b.Context(), c, url)
				if err != nil {
					b.Error(err)
					return
				}
				defer s.close()
				msg := make([]byte, 40)
				for pb.Next() {
					if err := s.roundTrip(msg); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(counted.writes.Load()-writes)/float64(b.N), "socket-writes/op")
			b.ReportMetric(float64(counted.reads.Load()-reads)/float64(b.N), "socket-reads/op")
		})
	}
}

// BenchmarkLoneWrite measures the round trip of one small write at a time
// through a batched connection and an echo, against a bare one: what a
// lone message pays for the batching.
func BenchmarkLoneWrite(b *testing.B) {
	for _, batched := range []bool{false, true} {
		name := "plain"
		if batched {
			name = "batched"
		}
		b.Run(name, func(b *testing.B) {
			server, counted, client := pair(b, batchconn.Options{})
			var w net.Conn = server
			if !batched {
				w = counted
			}
			go io.Copy(client, client) // echo
			msg := make([]byte, 32)
			buf := make([]byte, 32)
			for b.Loop() {
				if _, err := w.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(server, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
