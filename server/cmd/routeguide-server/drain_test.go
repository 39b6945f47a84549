package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// TestShutdownDrains stops the server, as SIGTERM does, with a stream of
// every shape open and unary calls running: the streams end with
// unavailable, no unary call the server accepted fails, and run returns.
func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	features := make([]map[string]any, 20_000)
	for i := range features {
		features[i] = map[string]any{"name": strings.Repeat("n", 100),
			"location": map[string]int{"latitude": i, "longitude": i}}
	}
	data, _ := json.Marshal(features)
	path := filepath.Join(t.TempDir(), "features.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, "--features", path)

	transport := &http.Transport{Protocols: new(http.Protocols), HTTP2: &http.HTTP2Config{
		MaxReceiveBufferPerStream: 64 << 10, MaxReceiveBufferPerConnection: 64 << 10,
	}}
	transport.Protocols.SetUnencryptedHTTP2(true)
	defer transport.CloseIdleConnections()
	url := "http://" + p.addr
	rpc := routeguideconnect.NewRouteGuideClient(connect.NewClient(connecthttp.NewTransport(&http.Client{Transport: transport}, url, connecthttp.WithGRPC())))
	ctx := t.Context()

	// One stream of each shape, open when the shutdown starts.
	chat := routeguidetest.Must(rpc.RouteChat(ctx))
	if err := chat.Send(&routeguide.RouteNote{Location: &routeguide.Point{}, Message: "open"}); err != nil {
		t.Fatal(err)
	}
	if _, err := chat.Receive(); err != nil {
		t.Fatal(err)
	}
	route := routeguidetest.Must(rpc.RecordRoute(ctx))
	if err := route.Send(&routeguide.Point{}); err != nil {
		t.Fatal(err)
	}
	world := &routeguide.Rectangle{Lo: &routeguide.Point{Latitude: -900_000_000, Longitude: -1_800_000_000},
		Hi: &routeguide.Point{Latitude: 900_000_000, Longitude: 1_800_000_000}}
	list, err := rpc.ListFeatures(ctx, world)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := list.Receive(); err != nil { // then stop reading until the shutdown
		t.Fatal(err)
	}

	shutdown := make(chan struct{})
	streamErrs := make(chan error, 3)
	go func() {
		_, err := chat.Receive()
		streamErrs <- err
	}()
	go func() {
		for route.Send(&routeguide.Point{}) == nil {
			// Not a wait: the client's pace, a point every 10 ms, keeps
			// the stream in use without flooding the connection.
			time.Sleep(10 * time.Millisecond)
		}
		_, err := route.CloseAndReceive()
		streamErrs <- err
	}()
	go func() {
		<-shutdown
		var err error
		for err == nil {
			_, err = list.Receive()
		}
		streamErrs <- err
	}()

	// Unary load on its own HTTP/2 connections, whose GOAWAY tells the
	// client which calls the server never took. (Over HTTP/1.1 a call sent
	// on a keep-alive connection as the server closes it fails without the
	// server having read it, and the client cannot tell.)
	var accepted, refused, failed atomic.Int64
	var failures sync.Map
	loadCtx, stopLoad := context.WithCancel(ctx)
	var load sync.WaitGroup
	const loaders = 4
	answered := make(chan struct{}, loaders) // one value per loader, at its first answer
	for range loaders {
		load.Go(func() {
			first := true
			h2c := &http.Transport{Protocols: new(http.Protocols)}
			h2c.Protocols.SetUnencryptedHTTP2(true)
			defer h2c.CloseIdleConnections()
			unary := routeguideconnect.NewRouteGuideClient(connect.NewClient(connecthttp.NewTransport(&http.Client{Transport: h2c}, url)))
			for loadCtx.Err() == nil {
				// Whether the call went on a connection the server had
				// already served, or on one just dialled.
				var reused bool
				callCtx := httptrace.WithClientTrace(loadCtx, &httptrace.ClientTrace{
					GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
				})
				_, err := unary.GetFeature(callCtx, &routeguide.Point{Latitude: 5, Longitude: 5})
				switch {
				case err == nil:
					accepted.Add(1)
					if first {
						first = false
						answered <- struct{}{}
					}
				case loadCtx.Err() != nil:
				case strings.Contains(err.Error(), "connection refused"):
					refused.Add(1) // the listener had closed: never accepted
				case !reused && (strings.Contains(err.Error(), "connection reset by peer") ||
					strings.Contains(err.Error(), "client conn could not be established")):
					// Dialled into the kernel's accept queue just before the
					// listener closed: the kernel resets such connections,
					// on the client's write or read or before HTTP/2 is
					// set up, and the server never saw them.
					refused.Add(1)
				default:
					failed.Add(1)
					failures.Store(err.Error(), true)
				}
			}
		})
	}
	// The shutdown begins once every loader has had an answer: all of
	// their connections are then served, and calls run on each.
	for range loaders {
		select {
		case <-answered:
		case <-time.After(patience):
			t.Fatalf("unary load had no answers within %v: %d answered, %d failed", patience, accepted.Load(), failed.Load())
		}
	}

	start := time.Now()
	close(shutdown)
	stopped := make(chan error, 1)
	go func() { stopped <- p.stop() }()
	for range 3 {
		select {
		case err := <-streamErrs:
			if connect.CodeOf(err) != connect.CodeUnavailable {
				t.Errorf("an open stream ended with %v, want unavailable", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("open streams had not ended 10 s after the shutdown began")
		}
	}
	streamsEnded := time.Since(start)
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("run returned %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run had not returned 15 s after the shutdown began")
	}
	stopLoad()
	load.Wait()
	t.Logf("streams ended %v after the shutdown began; run returned after %v; unary: %d answered, %d refused at the closed listener, %d failed",
		streamsEnded, time.Since(start), accepted.Load(), refused.Load(), failed.Load())
	failures.Range(func(k, _ any) bool {
		t.Errorf("an accepted unary call failed: %v", k)
		return true
	})
	_ = chat.Close()
	_ = list.Close()
}
