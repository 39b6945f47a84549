package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

// signalHandler is a slog.Handler that closes a channel at the first
// record with its message.
type signalHandler struct {
	message string
	once    sync.Once
	logged  chan struct{}
}

func (h *signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *signalHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *signalHandler) WithGroup(string) slog.Handler            { return h }

func (h *signalHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.message {
		h.once.Do(func() { close(h.logged) })
	}
	return nil
}

// TestWatchStallCutsOff has a client replay more notes than its 64 KiB
// flow-control window holds and stop reading: the server cuts the watch off
// once its send has made no progress for WatchStall, long before the write
// timeout, and the client, reading again, gets every note sent before the
// cut and then resource_exhausted naming the after_sequence and after_epoch
// to resume from, which give it the rest.
func TestWatchStallCutsOff(t *testing.T) {
	t.Parallel()
	const stored = 400
	stalled := &signalHandler{message: "notes watch stalled", logged: make(chan struct{})}
	store := notes.NewMemory(limits.Limits{MaxNotesPerLocation: stored, MaxStoredNoteBytes: 64 << 20})
	ts := routeguidetest.NewRouteGuide(t, testFeatures, server.WithNotesStore(store),
		server.WithLogger(slog.New(stalled)),
		server.WithLimits(limits.Limits{WatchStall: 200 * time.Millisecond, WriteTimeout: time.Hour}))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for i := range stored {
		// About 200 KB of notes in all: three times the window.
		text := fmt.Sprintf("%04d %s", i, strings.Repeat("x", 500))
		if _, err := store.Add(ctx, note(int32(i), 7, text), notes.Author{}); err != nil {
			t.Fatal(err)
		}
	}

	// The least windows HTTP/2 allows make the server's sends block soon
	// after the client stops reading.
	transport := &http.Transport{Protocols: new(http.Protocols), HTTP2: &http.HTTP2Config{
		MaxReceiveBufferPerStream: 64 << 10, MaxReceiveBufferPerConnection: 64 << 10,
	}}
	transport.Protocols.SetUnencryptedHTTP2(true)
	defer transport.CloseIdleConnections()
	watcher := notesv1connect.NewNotesServiceClient(connect.NewClient(
		connecthttp.NewTransport(&http.Client{Transport: transport}, ts.URL, connecthttp.WithGRPC())))
	after := uint64(0)
	stream, err := watcher.WatchNotes(ctx, &notesv1.WatchNotesRequest{AfterSequence: &after})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	first, err := stream.Receive()
	if err != nil {
		t.Fatalf("no first note: %v", err)
	}
	// The client reads nothing more until the server has cut it off.
	select {
	case <-stalled.logged:
	case <-ctx.Done():
		t.Fatal("the watch that stopped reading was not cut off")
	}
	received, last := 1, first.GetSequence()
	for {
		res, err := stream.Receive()
		if err != nil {
			wantCode(t, err, connect.CodeResourceExhausted, "took none of the notes sent to it for 200ms")
			want := fmt.Sprintf("resume with after_sequence=%d and after_epoch=%q", last, first.GetEpoch())
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not say %q", err, want)
			}
			break
		}
		if got, want := res.GetSequence(), last+1; got != want {
			t.Fatalf("note of sequence %d after %d, want %d", got, last, want)
		}
		received, last = received+1, res.GetSequence()
	}
	if received == stored {
		t.Fatalf("the client got all %d notes before the cut: it did not stall", stored)
	}
	t.Logf("cut off after %d of %d notes", received, stored)

	// Resuming where the error says gives the rest.
	epoch := first.GetEpoch()
	resumed, err := watcher.WatchNotes(ctx, &notesv1.WatchNotesRequest{AfterSequence: &last, AfterEpoch: &epoch})
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	for want := last + 1; want <= stored; want++ {
		res, err := resumed.Receive()
		if err != nil {
			t.Fatalf("resumed after %d: %v", last, err)
		}
		if got := res.GetSequence(); got != want {
			t.Fatalf("resumed after %d: got sequence %d, want %d", last, got, want)
		}
	}
}
