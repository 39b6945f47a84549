package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"google.golang.org/protobuf/proto"

	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/limits"
)

// A watch of notes holds no context of its own (it ends through its
// call's life, transport.OnEnd): these tests check that it still ends at
// its deadline and at a drain, idle or after a note, with the code that
// says why.

// TestWatchEndsAtDeadline opens watches that ask for no timeout, one idle
// and one that has had a note, on a server whose largest deadline is
// short: both end with deadline_exceeded.
func TestWatchEndsAtDeadline(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, testFeatures, server.WithLimits(limits.Limits{MaxTimeout: 300 * time.Millisecond}))
	c := notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(routeguidetest.H2CClient(), ts.URL, connecthttp.WithGRPC())))
	// The client's own deadline is far: the server's must end the watches.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	fed, err := openWatch(context.WithoutCancel(ctx), c)
	if err != nil {
		t.Fatal(err)
	}
	defer fed.Close()
	// Opened after the note openWatch posted, with no resume: it gets
	// nothing.
	idle, err := c.WatchNotes(context.WithoutCancel(ctx), &notesv1.WatchNotesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	for name, w := range map[string]notesv1connect.NotesServiceWatchNotesClientStream{"idle": idle, "fed": fed} {
		if got, err := endOf(w); got != connect.CodeDeadlineExceeded {
			t.Errorf("%s watch ended with %v, want deadline_exceeded", name, err)
		}
	}
}

// endOf returns how w ends: the code of the error its next Receive
// returns, or unknown if it has not ended within 10 s (a failure: the
// client's context has no deadline that would end it).
func endOf(w notesv1connect.NotesServiceWatchNotesClientStream) (connect.Code, error) {
	ended := make(chan error, 1)
	go func() {
		_, err := w.Receive()
		ended <- err
	}()
	select {
	case err := <-ended:
		return connect.CodeOf(err), err
	case <-time.After(10 * time.Second):
		return connect.CodeUnknown, errors.New("still open after 10 s")
	}
}

// TestWatchEndsAtDrain opens an idle watch and one that has had a note,
// drains the server, and checks that both end with the server's
// unavailable, not reset after the drain's grace for writes;
// a watch opened after the drain is refused so.
func TestWatchEndsAtDrain(t *testing.T) {
	t.Parallel()
	srv, err := server.New(testFeatures)
	if err != nil {
		t.Fatal(err)
	}
	ts := routeguidetest.NewServer(t, srv)
	c := notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(routeguidetest.H2CClient(), ts.URL, connecthttp.WithGRPC())))
	// No deadline of the client's, which would give the watches one of
	// their own: endOf bounds the waits.
	ctx := context.WithoutCancel(t.Context())
	idle, err := c.WatchNotes(ctx, &notesv1.WatchNotesRequest{AfterSequence: proto.Uint64(0)})
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fed, err := openWatch(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer fed.Close()
	// The idle watch replays the note openWatch posted: it is open on the
	// server, past its replay, when the drain begins.
	if _, err := idle.Receive(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	srv.Drain()
	for name, w := range map[string]notesv1connect.NotesServiceWatchNotesClientStream{"idle": idle, "fed": fed} {
		// The server's answer, not a reset of the stream after the
		// drain's grace for writes.
		if got, err := endOf(w); got != connect.CodeUnavailable || !strings.Contains(err.Error(), "shutting down") {
			t.Errorf("%s watch ended with %v, want unavailable: shutting down", name, err)
		}
	}
	// At once: not after the drain's grace for writes (2 s), which
	// resets a stream that it cannot end otherwise.
	if took := time.Since(start); took > time.Second {
		t.Errorf("the watches ended %v after the drain, want at once", took)
	}
	late, err := c.WatchNotes(ctx, &notesv1.WatchNotesRequest{})
	if err == nil {
		_, err = late.Receive()
		late.Close()
	}
	if got := connect.CodeOf(err); got != connect.CodeUnavailable {
		t.Errorf("a watch opened after the drain got %v, want unavailable", err)
	}
}
