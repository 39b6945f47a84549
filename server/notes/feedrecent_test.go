package notes

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/internal/natstest"
)

// TestRecentEvents: the recent events keep at least keep of the newest,
// drop a deleted note and keep its deletion, answer a replay within what
// they hold as a store would (a page of at most limit, and how far it
// read), and refuse one that begins before it.
func TestRecentEvents(t *testing.T) {
	t.Parallel()
	r := recentEvents{keep: 2}
	r.restart(10)
	for seq := uint64(11); seq <= 16; seq++ {
		if seq == 13 {
			continue // a gap in the stream: a message deleted before it was read
		}
		r.add(Event{Seq: seq})
	}
	r.add(Event{Seq: 17, noop: true})
	r.add(Event{Seq: 18, Deleted: 15})
	seqs := func(events []Event) []uint64 {
		var s []uint64
		for _, ev := range events {
			s = append(s, ev.Seq)
		}
		return s
	}
	// At four events held, the two oldest, 11 and 12, went.
	for _, c := range []struct {
		from, to uint64
		limit    int
		want     []uint64
		upTo     uint64
		ok       bool
	}{
		{from: 12, to: 18, limit: 10, want: []uint64{14, 16, 18}, upTo: 18, ok: true},
		{from: 14, to: 18, limit: 1, want: []uint64{16}, upTo: 16, ok: true},
		{from: 16, to: 17, limit: 10, want: nil, upTo: 17, ok: true},
		{from: 11, to: 18, limit: 10, ok: false},
	} {
		events, upTo, ok := r.read(c.from, c.to, c.limit)
		if diff := cmp.Diff(c.want, seqs(events)); diff != "" || upTo != c.upTo || ok != c.ok {
			t.Errorf("read(%d, %d, %d) = %v, %d, %v; want %v, %d, %v", c.from, c.to, c.limit, seqs(events), upTo, ok, c.want, c.upTo, c.ok)
		}
	}
	r.restart(18)
	if _, _, ok := r.read(17, 18, 10); ok {
		t.Error("a replay from before a restart answered from the recent events")
	}
}

// TestJetStreamReplaysRecentEventsAsTheStream: a replay that the feed's
// recent events answer gives what the stream gives for the same range, a
// deleted note and the deletion among them, page by page.
func TestJetStreamReplaysRecentEventsAsTheStream(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s := openStoreForInside(t, natstest.Start(t).URL())
	start := s.feed.lastAccepted()
	var last uint64
	for i := range 40 {
		notes, err := s.Add(ctx, note(int32(i%7), 1, fmt.Sprintf("note %d", i)), Author{ID: "author-1", Name: "Ann"})
		if err != nil {
			t.Fatal(err)
		}
		last = notes[len(notes)-1].Seq
	}
	if _, err := s.Delete(ctx, last-5); err != nil {
		t.Fatal(err)
	}
	last++ // the deletion's
	deadline := time.Now().Add(10 * time.Second)
	for s.feed.lastAccepted() < last {
		if time.Now().After(deadline) {
			t.Fatal("the feed did not reach the deletion")
		}
		time.Sleep(5 * time.Millisecond)
	}
	type seen struct {
		Seq, Deleted uint64
		Text, Author string
	}
	read := func(replay replayFunc, limit int) []seen {
		var got []seen
		for from := start; from < last; {
			events, upTo, err := replay(ctx, from, last, limit)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range events {
				got = append(got, seen{ev.Seq, ev.Deleted, ev.Note.GetMessage(), ev.Author.Name})
			}
			if upTo <= from {
				t.Fatalf("a page from %d read up to %d", from, upTo)
			}
			from = upTo
		}
		return got
	}
	if _, _, ok := s.feed.replayRecent(start, last, 16); !ok {
		t.Fatal("the recent events do not hold what the feed accepted")
	}
	for _, limit := range []int{16, 7} {
		if diff := cmp.Diff(read(s.replayFromStream, limit), read(s.replay, limit)); diff != "" {
			t.Errorf("pages of %d, recent events against the stream (-stream +recent):\n%s", limit, diff)
		}
	}
}
