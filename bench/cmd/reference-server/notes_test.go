package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	notesv1 "github.com/routeguide/routeguide/bench/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serveHub serves a notes hub with limits on a loopback port and returns a
// client of it, on a connection dialled with opts.
func serveHub(t *testing.T, limits hubLimits, opts ...grpc.DialOption) notesv1.NotesServiceClient {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hub := newNotesHub(limits)
	notesv1.RegisterNotesServiceServer(srv, hub)
	ctx, cancel := context.WithCancel(context.Background())
	fanned := make(chan struct{})
	go func() {
		defer close(fanned)
		hub.fanOut(ctx)
	}()
	go srv.Serve(listener)
	conn, err := grpc.NewClient("passthrough:///"+listener.Addr().String(),
		append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		cancel()
		<-fanned
	})
	return notesv1.NewNotesServiceClient(conn)
}

var defaultLimits = hubLimits{buffer: 256, maxReplay: 1000, perLocation: 100}

func note(lat int32, text string) *routeguide.RouteNote {
	return &routeguide.RouteNote{Location: &routeguide.Point{Latitude: lat, Longitude: 1}, Message: text}
}

func post(t *testing.T, c notesv1.NotesServiceClient, n *routeguide.RouteNote) []*routeguide.RouteNote {
	t.Helper()
	res, err := c.PostNote(t.Context(), &notesv1.PostNoteRequest{Note: n})
	if err != nil {
		t.Fatal(err)
	}
	return res.GetNotes()
}

// watch opens a watch and waits for its headers, which say it is on.
func watch(t *testing.T, c notesv1.NotesServiceClient, req *notesv1.WatchNotesRequest) grpc.ServerStreamingClient[notesv1.WatchNotesResponse] {
	t.Helper()
	// A bound on a broken hub's silence, so that a test fails rather
	// than hangs; a working one answers in milliseconds.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	stream, err := c.WatchNotes(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Header(); err != nil {
		t.Fatal(err)
	}
	return stream
}

type seen struct {
	Seq  uint64
	Text string
}

func receive(t *testing.T, stream grpc.ServerStreamingClient[notesv1.WatchNotesResponse], n int) []seen {
	t.Helper()
	var got []seen
	for range n {
		res, err := stream.Recv()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, seen{res.GetSequence(), res.GetNote().GetMessage()})
	}
	return got
}

func TestWatchNotesOnceInOrderByArea(t *testing.T) {
	t.Parallel()
	c := serveHub(t, defaultLimits)
	world := watch(t, c, &notesv1.WatchNotesRequest{})
	area := watch(t, c, &notesv1.WatchNotesRequest{Area: &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: 10, Longitude: 0}, Hi: &routeguide.Point{Latitude: 20, Longitude: 5},
	}})
	for i, lat := range []int32{5, 10, 15, 20, 25} {
		post(t, c, note(lat, string(rune('a'+i))))
	}
	if diff := cmp.Diff([]seen{{1, "a"}, {2, "b"}, {3, "c"}, {4, "d"}, {5, "e"}}, receive(t, world, 5)); diff != "" {
		t.Errorf("world watcher (-want +got):\n%s", diff)
	}
	// The edges are in the area; the fifth note, outside it, proves by its
	// absence before a later one that nothing was skipped.
	post(t, c, note(12, "f"))
	if diff := cmp.Diff([]seen{{2, "b"}, {3, "c"}, {4, "d"}, {6, "f"}}, receive(t, area, 4)); diff != "" {
		t.Errorf("area watcher (-want +got):\n%s", diff)
	}
}

func TestPostNoteAnswersTheLocationsNotes(t *testing.T) {
	t.Parallel()
	c := serveHub(t, hubLimits{buffer: 256, maxReplay: 1000, perLocation: 2})
	post(t, c, note(1, "a"))
	post(t, c, note(2, "elsewhere"))
	if got, want := post(t, c, note(1, "b")), []*routeguide.RouteNote{note(1, "a"), note(1, "b")}; !cmp.Equal(got, want, cmp.Comparer(proto.Equal)) {
		t.Errorf("got %v, want %v", got, want)
	}
	// perLocation 2: the oldest goes.
	if got, want := post(t, c, note(1, "c")), []*routeguide.RouteNote{note(1, "b"), note(1, "c")}; !cmp.Equal(got, want, cmp.Comparer(proto.Equal)) {
		t.Errorf("got %v, want %v", got, want)
	}
	_, err := c.PostNote(t.Context(), &notesv1.PostNoteRequest{Note: &routeguide.RouteNote{Message: "nowhere"}})
	if got, want := status.Code(err), codes.InvalidArgument; got != want {
		t.Errorf("a note without a location: got %v, want %v", got, want)
	}
}

func TestWatchNotesReplays(t *testing.T) {
	t.Parallel()
	c := serveHub(t, hubLimits{buffer: 256, maxReplay: 3, perLocation: 100})
	for _, text := range []string{"a", "b", "c", "d"} {
		post(t, c, note(1, text))
	}
	after := func(seq uint64) *notesv1.WatchNotesRequest { return &notesv1.WatchNotesRequest{AfterSequence: &seq} }
	resumed := watch(t, c, after(2))
	fromStart := watch(t, c, after(0)) // maxReplay 3: a is gone
	post(t, c, note(1, "e"))
	if diff := cmp.Diff([]seen{{3, "c"}, {4, "d"}, {5, "e"}}, receive(t, resumed, 3)); diff != "" {
		t.Errorf("after_sequence=2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]seen{{2, "b"}, {3, "c"}, {4, "d"}, {5, "e"}}, receive(t, fromStart, 4)); diff != "" {
		t.Errorf("after_sequence=0 (-want +got):\n%s", diff)
	}
}

// TestWatchNotesCutsOffASlowWatcher posts far more than a non-reading
// watcher's flow-control windows and queue hold before it reads.
func TestWatchNotesCutsOffASlowWatcher(t *testing.T) {
	t.Parallel()
	const notes = 400 // 400 KB, past the 64 KiB window, grpc-go's 64 KiB write quota and the queue of 4
	c := serveHub(t, hubLimits{buffer: 4, maxReplay: 1000, perLocation: 100},
		grpc.WithStaticStreamWindowSize(65535), grpc.WithStaticConnWindowSize(1<<24))
	slow := watch(t, c, &notesv1.WatchNotesRequest{})
	reader := watch(t, c, &notesv1.WatchNotesRequest{})
	text := strings.Repeat("x", 1000)
	// Each note is read by the reader before the next is posted, so that
	// only the slow watcher can fall behind; the reader's having a note
	// proves the hub has offered it to the slow watcher too.
	for i := range notes {
		post(t, c, note(int32(i), text))
		if _, err := reader.Recv(); err != nil {
			t.Fatalf("the reading watcher, note %d: %v", i, err)
		}
	}
	for got := range notes {
		_, err := slow.Recv()
		if err == nil {
			continue
		}
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("the slow watcher, after %d notes: got %v, want resource_exhausted", got, err)
		}
		return
	}
	t.Errorf("the slow watcher got all %d notes and was not cut off", notes)
}
