package notes

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/natstest"
)

// TestFeedHoldsANoteForItsPoster: a note this replica is storing reaches
// its watchers only once its poster has the answer, or, should the answer
// never come, after ownNoteWait.
func TestFeedHoldsANoteForItsPoster(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s := openStoreForInside(t, natstest.Start(t).URL())
	w, err := s.Watch(ctx, WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	post := func(text, id string) {
		t.Helper()
		msg := &nats.Msg{Subject: s.subject(&routeguide.Point{Latitude: 1, Longitude: 1}), Data: []byte(text), Header: nats.Header{}}
		setAuthor(msg.Header, Author{})
		if _, err := s.publish(ctx, msg, id); err != nil {
			t.Fatal(err)
		}
	}
	next := func(want string) {
		t.Helper()
		ev, err := w.Next(ctx)
		if err != nil || ev.Note.GetMessage() != want {
			t.Fatalf("Next() = %q, %v; want %q", ev.Note.GetMessage(), err, want)
		}
	}

	// Answered: the note comes after its poster's answer.
	answered := s.posting("answered")
	var released atomic.Bool
	post("answered", "answered")
	go func() {
		released.Store(true)
		answered()
	}()
	next("answered")
	if !released.Load() {
		t.Error("the note reached its watcher before its poster had the answer")
	}

	// Never answered: the feed goes on after ownNoteWait.
	defer s.posting("lost")()
	start := time.Now()
	post("lost", "lost")
	next("lost")
	if held := time.Since(start); held < ownNoteWait {
		t.Errorf("a note whose poster never had the answer was held %v, want %v", held, ownNoteWait)
	}
}
