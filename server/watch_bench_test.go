package server_test

import (
	"context"
	"sync"
	"testing"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"google.golang.org/protobuf/proto"

	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/limits"
)

// BenchmarkWatchNotesFanOut posts one note at a time to a server with 200
// gRPC watchers over 4 connections, through real clients over loopback,
// and waits until every watcher has it: the time and allocations of a
// delivery (deliveries/op is 200), the clients' included. The CPU a
// delivery costs the server alone is watch-load's to measure
// (BENCHMARKS.md, "Watchers and fan-out").
func BenchmarkWatchNotesFanOut(b *testing.B) {
	const watchers, conns = 200, 4
	ts := routeguidetest.NewRouteGuide(b, testFeatures,
		server.WithLimits(limits.Limits{MaxWatchesPerClient: watchers}),
		server.WithWriteBudget(nil))
	ctx, cancel := context.WithCancel(context.WithoutCancel(b.Context()))
	defer cancel()
	received := make(chan struct{}, watchers)
	var opened sync.WaitGroup
	var done sync.WaitGroup
	var clients [conns]notesv1connect.NotesServiceClient
	for i := range clients {
		// An HTTP client, and so a connection, of its own.
		clients[i] = notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(
			routeguidetest.H2CClient(), ts.URL, connecthttp.WithGRPC())))
	}
	for i := range watchers {
		c := clients[i%conns]
		stream, err := c.WatchNotes(ctx, &notesv1.WatchNotesRequest{AfterSequence: proto.Uint64(0)})
		if err != nil {
			b.Fatal(err)
		}
		opened.Add(1)
		done.Go(func() {
			defer stream.Close()
			first := true
			for {
				if _, err := stream.Receive(); err != nil {
					return
				}
				if first {
					opened.Done()
					first = false
					continue
				}
				received <- struct{}{}
			}
		})
	}
	poster := notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(routeguidetest.H2CClient(), ts.URL, connecthttp.WithGRPC())))
	post := func() {
		if _, err := poster.PostNote(ctx, &notesv1.PostNoteRequest{Note: note(9, 9, "a note for every watcher")}); err != nil {
			b.Fatal(err)
		}
	}
	// The first note is every watcher's sign that it is open and live.
	post()
	opened.Wait()
	b.ReportAllocs()
	for b.Loop() {
		post()
		for range watchers {
			<-received
		}
	}
	b.ReportMetric(watchers, "deliveries/op")
	cancel()
	done.Wait()
}
