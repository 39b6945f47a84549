package server_test

import (
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"google.golang.org/protobuf/proto"

	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

// TestWatchNotesRefusesAResumeFromAnotherStore posts to a replica, then
// resumes its feed against a replica whose memory store began anew, as
// after a restart: with the epoch, or with a sequence past the new store's
// end, the call fails with failed_precondition, saying to start again,
// rather than following with nothing replayed.
func TestWatchNotesRefusesAResumeFromAnotherStore(t *testing.T) {
	t.Parallel()
	old := newReplica(t, notes.NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 20}))
	watch, err := old.notes.WatchNotes(t.Context(), &notesv1.WatchNotesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	res, err := old.notes.PostNote(t.Context(), &notesv1.PostNoteRequest{Note: note(1, 1, "a")})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.GetAuthors(); len(got) != 1 || !got[0].GetAnonymous() {
		t.Errorf("PostNote's authors = %v, want one anonymous", got)
	}
	seen := receiveWithin(t, watch, 5*time.Second)
	if seen.GetEpoch() == "" || !seen.GetAuthor().GetAnonymous() {
		t.Errorf("feed response %v has no epoch or no anonymous author", seen)
	}

	restarted := newReplica(t, notes.NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 20}))
	for _, req := range []*notesv1.WatchNotesRequest{
		{AfterSequence: proto.Uint64(seen.GetSequence()), AfterEpoch: proto.String(seen.GetEpoch())},
		{AfterSequence: proto.Uint64(seen.GetSequence() + 10)},
	} {
		stream, err := restarted.notes.WatchNotes(t.Context(), req)
		if err == nil {
			for err == nil {
				_, err = stream.Receive()
			}
			stream.Close()
		}
		if connect.CodeOf(err) != connect.CodeFailedPrecondition {
			t.Errorf("resume %v on a new store: %v, want failed_precondition", req, err)
		}
	}
}
