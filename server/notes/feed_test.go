package notes

import (
	"errors"
	"testing"

	"github.com/routeguide/routeguide/server/limits"
)

// TestFeedDropsAnOverrunBacklog holds delivery up while more than
// maxPending events are published: the poster never waits, the backlog is
// dropped, and the watchers are cut off to resume from the store.
func TestFeedDropsAnOverrunBacklog(t *testing.T) {
	t.Parallel()
	s := NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 30})
	defer s.Close()
	w, err := s.Watch(t.Context(), WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	s.feed.mu.Lock() // delivery waits for this
	for i := range maxPending + 1 {
		add(t, s, note(int32(i%100), 0, "x"))
	}
	s.feed.queueMu.Lock()
	pending := len(s.feed.pending)
	s.feed.queueMu.Unlock()
	s.feed.mu.Unlock()
	if pending > maxPending {
		t.Errorf("%d events held for delivery, over %d", pending, maxPending)
	}
	var resume *ResumeError
	for {
		_, err := w.Next(t.Context())
		if err == nil {
			continue // delivered before the hold
		}
		if !errors.As(err, &resume) || !errors.Is(err, ErrTooSlow) {
			t.Fatalf("watcher got %v, want ErrTooSlow to resume from", err)
		}
		break
	}
}
