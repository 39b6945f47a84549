package main

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// TestJetStreamWatchersKeepSmallStacks runs the command on each store and
// checks that an open watch of a JetStream store holds no more goroutine
// stack than one of a memory store: the NATS requests a watch makes as it
// starts (the stream's last sequence, or its replay for half of them)
// need a deep stack, which must not stay with the watch's handler while
// it waits. The command runs as a
// process of its own, built without the race detector, whose stack memory
// its admin port reports.
func TestJetStreamWatchersKeepSmallStacks(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	mem := watcherStackBytes(t)
	js := watcherStackBytes(t, "--notes", nats.URL())
	t.Logf("server stack bytes per open watch: memory %.0f, JetStream %.0f", mem, js)
	// Stacks are powers of two: a handler's grown to 16 KiB adds 8 KiB, so
	// either half of the watches alone would add 4 KiB a watch.
	if js > mem+2<<10 {
		t.Errorf("a JetStream watch holds %.0f bytes of stack, a memory one %.0f: its handler kept the stack its NATS requests grew", js, mem)
	}
}

// watcherStackBytes starts the command with args, opens watches on it and
// returns how much its stack memory grew per watch once they all wait.
func watcherStackBytes(t *testing.T, args ...string) float64 {
	t.Helper()
	const watches = 200
	admin := "http://" + routeguidetest.FreePort(t)
	p := startProcess(t, append(args, "--admin-addr", admin[len("http://"):], "--max-watches-per-client", "1000")...)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	httpClient := routeguidetest.H2CClient()
	defer httpClient.CloseIdleConnections()
	c := notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(httpClient, "http://"+p.addr, connecthttp.WithGRPC())))
	post := func() {
		note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: 5, Longitude: 5}, Message: "wake"}
		if _, err := c.PostNote(ctx, &notesv1.PostNoteRequest{Note: note}); err != nil {
			t.Fatal(err)
		}
	}
	post() // opens the connection and the store's feed, which must not count
	before := serverStack(t, admin)

	received := make(chan error, watches)
	for i := range watches {
		req := &notesv1.WatchNotesRequest{}
		if i%2 == 1 {
			req.AfterSequence = new(uint64(0)) // replays what is stored
		}
		s, err := c.WatchNotes(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		go func() {
			_, err := s.Receive()
			received <- err
		}()
	}
	// A watch gets the notes posted once it is on: post until every
	// watch has received one, so that every handler is waiting.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for got := 0; got < watches; {
		select {
		case err := <-received:
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			got++
		case <-tick.C:
			post()
		}
	}
	return float64(serverStack(t, admin)-before) / watches
}

// serverStack returns the bytes of goroutine stacks in use in the server
// behind admin, after a collection, which shrinks the stacks it can.
func serverStack(t *testing.T, admin string) float64 {
	t.Helper()
	for range 2 {
		if code, body := get(t, admin+"/debug/pprof/heap?gc=1"); code != 200 {
			t.Fatalf("heap profile: %d %s", code, body)
		}
	}
	return gauge(scrape(t, admin+"/metrics"), "go_memstats_stack_inuse_bytes")
}
