package notes

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/routeguide/routeguide/internal/natstest"
)

// TestJetStreamFeedFillsAGap: the nemesis saw a replica's live feed jump
// seven notes within one WatchNotes call while a NATS node was stopped. Here
// the replica's consumer is made to skip: it is stopped, two notes are
// stored, and it follows again from after them. The watcher must still get
// every note, in order, within its call: the feed reads the gap back from
// the stream.
func TestJetStreamFeedFillsAGap(t *testing.T) {
	t.Parallel()
	node := natstest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s := openStoreForInside(t, node.URL())
	w, err := s.Watch(ctx, WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	first := add(t, s, note(1, 1, "before"))
	if ev, err := w.Next(ctx); err != nil || ev.Note.GetMessage() != "before" {
		t.Fatalf("first note: %v, %v", ev.Note, err)
	}

	s.stopFollowing()
	var skipped uint64
	for _, msg := range []string{"skipped 1", "skipped 2"} {
		replies := add(t, s, note(1, 2, msg))
		skipped = replies[len(replies)-1].Seq
	}
	if err := s.follow(ctx, skipped+1); err != nil {
		t.Fatal(err)
	}
	add(t, s, note(1, 1, "after"))

	var got []string
	for len(got) < 3 {
		ev, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, ev.Note.GetMessage())
	}
	if want := []string{"skipped 1", "skipped 2", "after"}; !slices.Equal(got, want) {
		t.Errorf("the watcher got %q after %q (sequence %d), want %q", got, "before", first[0].Seq, want)
	}
}

// openStoreForInside opens a store on the NATS server at url, closed when the
// test ends, for the tests that look inside it.
func openStoreForInside(t *testing.T, url string) *JetStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := OpenJetStream(ctx, JetStreamConfig{URLs: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
