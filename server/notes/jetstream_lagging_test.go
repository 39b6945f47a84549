package notes_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/server/notes"
)

// TestJetStreamReplayNotShortenedByALaggingServer: a direct get may be
// answered by any server that holds the stream, a follower behind its
// leader among them, which answers with what it has applied, without an
// error; the nemesis saw a resume skip two notes so. Here the server
// behind is a mirror of the notes stream that serves its direct gets
// (mirror_direct) and holds its first four notes only (max_msgs 4,
// discard new), as a follower that stopped applying would: every resume
// must still replay every note, however often the mirror answers.
func TestJetStreamReplayNotShortenedByALaggingServer(t *testing.T) {
	t.Parallel()
	node := natstest.Start(t)
	s := openJetStreamAt(t, node.URL(), defaultSuiteLimits)
	var want []string
	for _, lat := range []int32{1, 2} {
		for i := range 3 { // a location keeps 3
			msg := fmt.Sprintf("at %d, %d", lat, i)
			add(t, s, note(lat, 1, msg))
			want = append(want, msg)
		}
	}

	nc, err := nats.Connect(node.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	mirror, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name:         "BEHIND",
		Mirror:       &jetstream.StreamSource{Name: "ROUTEGUIDE_NOTES"},
		MaxMsgs:      4,
		Discard:      jetstream.DiscardNew,
		MirrorDirect: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for {
		info, err := mirror.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 4 {
			break
		}
		if err := ctx.Err(); err != nil {
			t.Fatalf("the mirror holds %d notes, want 4: %v", info.State.Msgs, err)
		}
		time.Sleep(10 * time.Millisecond) // the mirror has no event to wait on
	}

	// The mirror and the stream share the direct gets at random: twenty
	// resumes leave a replay that only the mirror answered with a chance
	// of one in a million.
	for i := range 20 {
		after := uint64(0)
		w, err := s.Watch(t.Context(), notes.WatchOptions{After: &after})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		readCtx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		for range want {
			ev, err := w.Next(readCtx)
			if err != nil {
				break // a replay that came short waits for live notes
			}
			got = append(got, ev.Note.GetMessage())
		}
		cancel()
		w.Close()
		if !slices.Equal(got, want) {
			t.Fatalf("resume %d replayed %q, want %q", i, got, want)
		}
	}
	// Delete reads its note from the leader too: the mirror, which holds
	// none of the notes posted after its first four, answers half the
	// direct gets, and must not make a note that is there look gone.
	for i := range 20 {
		posted, err := s.Add(t.Context(), note(10+int32(i), 1, "to delete"), notes.Author{})
		if err != nil {
			t.Fatal(err)
		}
		seq := posted[len(posted)-1].Seq
		if _, err := s.Delete(t.Context(), seq); err != nil {
			t.Fatalf("delete %d, of note %d that the stream holds: %v", i, seq, err)
		}
	}
}
