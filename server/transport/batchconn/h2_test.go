package batchconn_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/routeguide/routeguide/server/transport/batchconn"
)

// countingListener counts the writes to the sockets of the connections it
// accepts, below any wrapping.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &listenerConn{Conn: c, l: l}, nil
}

type listenerConn struct {
	net.Conn
	l *countingListener
}

func (c *listenerConn) Write(p []byte) (int, error) {
	c.l.writes.Add(1)
	return c.Conn.Write(p)
}

// h2cServer serves a small prebuilt response over HTTP/1.1 and unencrypted
// HTTP/2, its connections wrapped by batchconn if batched, and returns its
// URL and the count of its socket writes.
func h2cServer(t testing.TB, batched bool) (string, *countingListener) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingListener{Listener: inner}
	var l net.Listener = counted
	if batched {
		l = batchconn.NewListener(l, batchconn.Options{WriteTimeout: 10 * time.Second})
	}
	body := make([]byte, 64)
	s := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/octet-stream")
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
	url, _ := h2cServer(t, true)
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
	for _, batched := range []bool{false, true} {
		name := "plain"
		if batched {
			name = "batched"
		}
		b.Run(name, func(b *testing.B) {
			url, counted := h2cServer(b, batched)
			c := h2cClient(b)
			if err := get(c, url); err != nil { // one connection, made now
				b.Fatal(err)
			}
			before := counted.writes.Load()
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
			b.ReportMetric(float64(counted.writes.Load()-before)/float64(b.N), "socket-writes/op")
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
