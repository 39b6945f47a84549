package cluster

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/clientaddr"
	"github.com/routeguide/routeguide/server/notes"
)

// TestPostNoteResentStoredOnce is the nemesis's duplicate PostNote, made
// to happen at will: a replica stores a note, then dies before its answer
// leaves. HAProxy (2.6, whatever its retries and retry-on) then resets the
// client's stream with REFUSED_STREAM, which tells an HTTP/2 client that
// the call was not processed, and Go's client sends it again, on the same
// frontend connection. Without an Idempotency-Key the note is stored twice;
// with one, once, and the resent call is answered as the first would have
// been.
func TestPostNoteResentStoredOnce(t *testing.T) {
	t.Parallel()
	bin, err := FindHAProxy()
	if err != nil {
		t.Skip(err)
	}
	nats := natstest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	store, err := notes.OpenJetStream(ctx, notes.JetStreamConfig{URLs: nats.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	// HAProxy sends PROXY v2 on every connection, through the dying proxy
	// on loopback: the replica trusts it, as the cluster's replicas do.
	trusted, err := clientaddr.ParseTrusted("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(routeguidetest.CanonicalFeatures(t), server.WithNotesStore(store), server.WithTrustedProxies(trusted))
	if err != nil {
		t.Fatal(err)
	}
	replica := httptest.NewUnstartedServer(srv)
	replica.Listener = trusted.Listener(replica.Listener)
	replica.Config.Protocols = new(http.Protocols)
	replica.Config.Protocols.SetUnencryptedHTTP2(true)
	replica.Start()
	t.Cleanup(replica.Close)
	dying := newDyingProxy(t, replica.Listener.Addr().String())

	c := &Cluster{dir: t.TempDir(), logger: slog.New(slog.DiscardHandler)}
	c.replicas = []*Process{{name: "routeguide-1", addr: dying.addr()}}
	ports, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	haproxy, err := c.newHAProxy(ports[0], ports[1], bin)
	if err != nil {
		t.Fatal(err)
	}
	err = haproxy.Start(ctx)
	t.Cleanup(func() { haproxy.Stop(context.Background()) })
	if err != nil {
		t.Fatal(err)
	}
	h2c := routeguidetest.H2CClient()
	t.Cleanup(h2c.CloseIdleConnections) // or HAProxy waits for it to stop
	client := notesv1connect.NewNotesServiceClient(connect.NewClient(
		connecthttp.NewTransport(h2c, "http://"+haproxy.Addr(), connecthttp.WithGRPC())))

	for _, tt := range []struct {
		name, key string
		want      []string
	}{
		{"without a key", "", []string{"resent without a key", "resent without a key"}},
		{"with a key", "0b6c1c8e-58d9-4e7a-9f31-7f0c6f1d2a44", []string{"resent with a key"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			message := "resent " + tt.name
			dying.killAnswerTo(message)
			callCtx, info := connect.NewClientContext(ctx)
			if tt.key != "" {
				info.RequestHeader().Set(server.IdempotencyKeyHeader, tt.key)
			}
			// A location of its own, so that the answer is every copy
			// stored.
			loc := &routeguide.Point{Latitude: 400000000, Longitude: -740000000 + int32(len(tt.key))}
			res, err := client.PostNote(callCtx, &notesv1.PostNoteRequest{Note: &routeguide.RouteNote{Location: loc, Message: message}})
			if err != nil {
				t.Fatal(err)
			}
			if !dying.killed() {
				t.Fatal("the replica's answer was never cut: the call was not resent")
			}
			var got []string
			for _, n := range res.GetNotes() {
				got = append(got, n.GetMessage())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("notes at the location after one resent PostNote (-want +got):\n%s", diff)
			}
		})
	}
}

// dyingProxy stands between HAProxy and a replica as the replica's
// address, and, when told, kills the connection that carries a call with a
// given text at the moment the replica answers it, as a replica killed
// after storing a note would: the answer never leaves, and the connection
// is reset.
type dyingProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex // protects marker
	marker []byte     // the text of the call whose answer kills; nil: none
	cut    atomic.Bool
}

func newDyingProxy(t *testing.T, target string) *dyingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dyingProxy{ln: ln, target: target}
	var conns sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		conns.Wait()
	})
	conns.Go(func() {
		for {
			front, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { p.serve(front) })
		}
	})
	return p
}

func (p *dyingProxy) addr() string { return p.ln.Addr().String() }

// killAnswerTo arms the proxy: the first answer on a connection that has
// carried message kills that connection.
func (p *dyingProxy) killAnswerTo(message string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.marker = []byte(message)
	p.cut.Store(false)
}

// killed reports whether the armed answer was cut.
func (p *dyingProxy) killed() bool { return p.cut.Load() }

func (p *dyingProxy) serve(front net.Conn) {
	back, err := net.Dial("tcp", p.target)
	if err != nil {
		front.Close()
		return
	}
	defer front.Close()
	defer back.Close()
	var carried atomic.Bool // this connection has carried the armed call
	go func() {
		defer back.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := front.Read(buf)
			if n > 0 {
				p.mu.Lock()
				if p.marker != nil && bytes.Contains(buf[:n], p.marker) {
					carried.Store(true)
				}
				p.mu.Unlock()
				if _, err := back.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	// Forward the replica's HTTP/2 frames one at a time, so that the
	// first HEADERS frame of an answer after the armed call is never
	// forwarded: a response starts with one.
	var pending []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := back.Read(buf)
		pending = append(pending, buf[:n]...)
		for len(pending) >= 9 {
			size := 9 + (int(pending[0])<<16 | int(pending[1])<<8 | int(pending[2]))
			if len(pending) < size {
				break
			}
			const headersFrame = 0x1
			if pending[3] == headersFrame && carried.Load() && p.cut.CompareAndSwap(false, true) {
				p.mu.Lock()
				p.marker = nil
				p.mu.Unlock()
				// Reset, as the kernel does for a killed process with
				// unread data.
				front.(*net.TCPConn).SetLinger(0)
				return
			}
			if _, err := front.Write(pending[:size]); err != nil {
				return
			}
			pending = pending[size:]
		}
		if err != nil {
			io.Copy(io.Discard, back)
			return
		}
	}
}
