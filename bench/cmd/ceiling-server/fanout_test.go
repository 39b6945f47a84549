package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	notesv1 "github.com/routeguide/routeguide/bench/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/bench/internal/benchserver"
	"github.com/routeguide/routeguide/gen/routeguide"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestFanOut serves the floor's NotesService on loopback and checks with
// grpc-go's client that every watcher gets every note posted after it
// opened, in order, and that a watcher resuming from a sequence gets the
// notes after it first; with waves, too, for more watchers than the waves
// hold.
func TestFanOut(t *testing.T) {
	t.Parallel()
	for _, waves := range []bool{false, true} {
		t.Run(fmt.Sprintf("waves=%v", waves), func(t *testing.T) {
			t.Parallel()
			testFanOut(t, waves)
		})
	}
}

func testFanOut(t *testing.T, waves bool) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	serveFanOut(mux, waves)
	srv := benchserver.H2C(mux)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(listener) }()
	conn, err := grpc.NewClient("passthrough:///"+listener.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	client := notesv1.NewNotesServiceClient(conn)
	// A bound on a broken floor's silence, so that the test fails rather
	// than hangs; a working one answers in milliseconds.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	post := func(text string) {
		t.Helper()
		_, err := client.PostNote(ctx, &notesv1.PostNoteRequest{Note: &routeguide.RouteNote{
			Location: &routeguide.Point{Latitude: 1, Longitude: 2}, Message: text,
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	watch := func(req *notesv1.WatchNotesRequest) grpc.ServerStreamingClient[notesv1.WatchNotesResponse] {
		t.Helper()
		stream, err := client.WatchNotes(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Header(); err != nil { // the watch is on
			t.Fatal(err)
		}
		return stream
	}
	type got struct {
		Seq  uint64
		Text string
	}
	recv := func(stream grpc.ServerStreamingClient[notesv1.WatchNotesResponse], n int) []got {
		t.Helper()
		var all []got
		for range n {
			res, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, got{res.GetSequence(), res.GetNote().GetMessage()})
		}
		return all
	}

	post("before")
	var live []grpc.ServerStreamingClient[notesv1.WatchNotesResponse]
	for range floorYields*floorWave + 2 {
		live = append(live, watch(&notesv1.WatchNotesRequest{}))
	}
	post("one")
	post("two")
	want := []got{{2, "one"}, {3, "two"}}
	for i, stream := range live {
		if diff := cmp.Diff(want, recv(stream, 2)); diff != "" {
			t.Errorf("watcher %d (-want +got):\n%s", i, diff)
		}
	}
	after := uint64(1)
	resumed := watch(&notesv1.WatchNotesRequest{AfterSequence: &after})
	post("three")
	if diff := cmp.Diff([]got{{2, "one"}, {3, "two"}, {4, "three"}}, recv(resumed, 3)); diff != "" {
		t.Errorf("resumed after 1 (-want +got):\n%s", diff)
	}
}

// TestFanOutKeepsTheNewest checks that the log keeps at least the newest
// fanOutKept frames and replays no more than those.
func TestFanOutKeepsTheNewest(t *testing.T) {
	t.Parallel()
	h := newFanOut(false)
	const posted = 3*fanOutKept + 7
	for i := range posted {
		err := h.post(func(seq uint64) ([]byte, error) {
			if seq != uint64(i)+1 {
				t.Fatalf("note %d got sequence %d", i, seq)
			}
			return []byte{byte(seq)}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	frames, last, _ := h.since(0, floorGroups-1)
	if got, want := len(frames), fanOutKept; got != want {
		t.Errorf("replayed %d frames, want %d", got, want)
	}
	if got, want := last, uint64(posted); got != want {
		t.Errorf("last sequence %d, want %d", got, want)
	}
	if got, want := frames[0][0], byte((posted-fanOutKept+1)%256); got != want {
		t.Errorf("first replayed frame is of sequence %d mod 256, want %d", got, want)
	}
	frames, _, _ = h.since(posted-2, floorGroups-1)
	if got, want := len(frames), 2; got != want {
		t.Errorf("after %d: replayed %d frames, want %d", posted-2, got, want)
	}
}
