package server_test

import (
	"context"
	"errors"
	"net"
	"net/http"
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

// notesClientFrom returns a NotesService client whose connections come
// from the loopback address local, so that a test can be several clients.
func notesClientFrom(url, local string) notesv1connect.NotesServiceClient {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	transport := &http.Transport{Protocols: new(http.Protocols), DialContext: dialer.DialContext}
	transport.Protocols.SetUnencryptedHTTP2(true)
	httpClient := &http.Client{Transport: transport}
	return notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(httpClient, url, connecthttp.WithGRPC())))
}

// openWatch opens a watch and returns it once the server has admitted it,
// which a note posted and received through it proves, or the error the
// server refused it with.
func openWatch(ctx context.Context, c notesv1connect.NotesServiceClient) (notesv1connect.NotesServiceWatchNotesClientStream, error) {
	stream, err := c.WatchNotes(ctx, &notesv1.WatchNotesRequest{AfterSequence: proto.Uint64(0)})
	if err != nil {
		return stream, err
	}
	// Resuming from 0 replays what is stored, so the note is seen whether
	// it is stored before or after the watch starts.
	posted, err := c.PostNote(ctx, &notesv1.PostNoteRequest{Note: note(3, 3, "here")})
	if err != nil {
		stream.Close()
		return stream, err
	}
	if len(posted.GetNotes()) == 0 {
		stream.Close()
		return stream, errors.New("PostNote answered no notes")
	}
	if _, err := stream.Receive(); err != nil {
		stream.Close()
		return stream, err
	}
	return stream, nil
}

// TestWatchCaps opens watches from two loopback addresses, two clients to
// the server, until each cap refuses one with resource_exhausted naming
// it, and checks that a watch closed makes room for another.
func TestWatchCaps(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, testFeatures, server.WithLimits(limits.Limits{MaxWatchesPerClient: 2, MaxWatches: 3}))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	alice, bob := notesClientFrom(ts.URL, "127.0.0.1"), notesClientFrom(ts.URL, "127.0.0.2")

	var open []notesv1connect.NotesServiceWatchNotesClientStream
	defer func() {
		for _, s := range open {
			s.Close()
		}
	}()
	for range 2 {
		s, err := openWatch(ctx, alice)
		if err != nil {
			t.Fatalf("watch within the caps: %v", err)
		}
		open = append(open, s)
	}
	_, err := openWatch(ctx, alice)
	if got, want := connect.CodeOf(err), connect.CodeResourceExhausted; got != want || !strings.Contains(err.Error(), "the most one client may") {
		t.Fatalf("third watch of one client: %v, want %v naming the per-client cap", err, want)
	}
	s, err := openWatch(ctx, bob)
	if err != nil {
		t.Fatalf("another client's first watch: %v", err)
	}
	open = append(open, s)
	_, err = openWatch(ctx, bob)
	if got, want := connect.CodeOf(err), connect.CodeResourceExhausted; got != want || !strings.Contains(err.Error(), "its most for all clients") {
		t.Fatalf("watch past the server's cap: %v, want %v naming the server's cap", err, want)
	}

	// A watch closed gives its place back once its handler has ended,
	// which the client does not see: try until the server admits one.
	open[0].Close()
	open = open[1:]
	for {
		s, err := openWatch(ctx, alice)
		if err == nil {
			open = append(open, s)
			break
		}
		if connect.CodeOf(err) != connect.CodeResourceExhausted {
			t.Fatalf("watch after one was closed: %v", err)
		}
	}
}
