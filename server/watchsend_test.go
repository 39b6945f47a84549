package server_test

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/connect/v2/connectproto"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
	"github.com/routeguide/routeguide/server/transport/prepared"
	"github.com/routeguide/routeguide/server/transport/vtcodec"
)

// countingCodec counts the WatchNotes responses it encodes of notes at
// latitude 5, those the test posts live.
type countingCodec struct {
	connect.StableCodec
	n *atomic.Int64
}

func (c countingCodec) MarshalWrite(ctx context.Context, dst io.Writer, msg any) error {
	if res, ok := msg.(*notesv1.WatchNotesResponse); ok && res.GetNote().GetLocation().GetLatitude() == 5 {
		c.n.Add(1)
	}
	return c.StableCodec.MarshalWrite(ctx, dst, msg)
}

// TestWatchNotesEncodesEachNoteOnce has watchers over binary protobuf
// (gRPC) and JSON (Connect) follow three notes: with the server's prepared
// codecs each note is encoded once per codec, whatever the number of
// watchers, and every watcher decodes what the server would have sent
// each alone, as the same watch over the plain codecs shows.
func TestWatchNotesEncodesEachNoteOnce(t *testing.T) {
	t.Parallel()
	const watchersPerCodec, posted = 10, 3
	var feeds [2][]*notesv1.WatchNotesResponse
	for i, wrap := range []func(connect.StableCodec) connect.StableCodec{
		prepared.Codec,
		func(c connect.StableCodec) connect.StableCodec { return c },
	} {
		var encoded atomic.Int64
		codecs := connecthttp.WithCodecs(
			wrap(countingCodec{vtcodec.Codec{}, &encoded}),
			wrap(countingCodec{connectproto.NewJSONCodec(), &encoded}))
		ts := routeguidetest.NewRouteGuide(t, testFeatures,
			server.WithNotesStore(notes.NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 20})),
			server.WithHTTPOptions(codecs))
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		var watches []notesv1connect.NotesServiceWatchNotesClientStream
		for _, protocol := range []connecthttp.Option{connecthttp.WithGRPC(), connecthttp.WithProtoJSON()} {
			c := notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(routeguidetest.H2CClient(), ts.URL, protocol)))
			for range watchersPerCodec {
				w, err := openWatch(ctx, c) // posts a note and reads it
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				watches = append(watches, w)
			}
		}
		poster := notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(routeguidetest.H2CClient(), ts.URL)))
		for j := range posted {
			if _, err := poster.PostNote(ctx, &notesv1.PostNoteRequest{Note: note(5, 5, fmt.Sprint("note ", j))}); err != nil {
				t.Fatal(err)
			}
		}
		// Every watcher reads up to the last note posted: the replays
		// of openWatch first, then the three.
		for _, w := range watches {
			var feed []*notesv1.WatchNotesResponse
			for {
				res, err := w.Receive()
				if err != nil {
					t.Fatal(err)
				}
				if res.GetNote().GetLocation().GetLatitude() != 5 {
					continue
				}
				res.Epoch = "" // the stores' lives differ
				feed = append(feed, res)
				if len(feed) == posted {
					break
				}
			}
			if feeds[i] == nil {
				feeds[i] = feed
			} else if diff := cmp.Diff(feeds[i], feed, protocmp.Transform()); diff != "" {
				t.Errorf("watchers disagree (-first +this):\n%s", diff)
			}
		}
		if i == 0 {
			if got, want := encoded.Load(), int64(2*posted); got != want {
				t.Errorf("prepared codecs encoded %d WatchNotes responses of the posted notes, want %d: once per codec", got, want)
			}
		} else if got, min := encoded.Load(), int64(2*watchersPerCodec*posted); got < min {
			t.Errorf("plain codecs encoded %d WatchNotes responses, want at least %d: the test cannot tell", got, min)
		}
	}
	if diff := cmp.Diff(feeds[1], feeds[0], protocmp.Transform(), protocmp.IgnoreFields(&notesv1.WatchNotesResponse{}, "posted_time")); diff != "" {
		t.Errorf("prepared feed differs from the plain one (-plain +prepared):\n%s", diff)
	}
}
