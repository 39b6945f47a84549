package notes

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/server/limits"
)

// TestWatcherTryNextAndCut checks that TryNext returns what is ready
// without waiting or reading the store, in the order Next would, and that
// a watcher cut off from another goroutine says where to resume.
func TestWatcherTryNextAndCut(t *testing.T) {
	t.Parallel()
	s := NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 20})
	defer s.Close()
	for range 3 {
		add(t, s, note(1, 1, "stored"))
	}
	after := uint64(0)
	w, err := s.Watch(t.Context(), WatchOptions{After: &after})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var got []uint64
	tryAll := func() {
		t.Helper()
		for {
			ev, ok, err := w.TryNext()
			if err != nil {
				t.Fatalf("TryNext: %v", err)
			}
			if !ok {
				return
			}
			got = append(got, ev.Seq)
		}
	}
	tryAll() // the replay is not read yet: nothing is ready
	ev, err := w.Next(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, ev.Seq)
	tryAll() // the rest of the page
	add(t, s, note(1, 1, "live"))
	add(t, s, note(1, 1, "live"))
	// Once the feed has delivered the second, both are queued.
	for {
		s.feed.mu.Lock()
		last := s.feed.last
		s.feed.mu.Unlock()
		if last == 5 {
			break
		}
		ev, err := w.Next(t.Context()) // waits on the feed, not the clock
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Seq)
	}
	tryAll()
	if diff := cmp.Diff([]uint64{1, 2, 3, 4, 5}, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	w.Cut(ErrStalled)
	add(t, s, note(1, 1, "after the cut"))
	_, ok, err := w.TryNext()
	var resume *ResumeError
	if ok || !errors.As(err, &resume) || !errors.Is(err, ErrStalled) {
		t.Fatalf("TryNext after Cut = %v, %v; want a ResumeError wrapping ErrStalled", ok, err)
	}
	if got, want := resume.After, uint64(5); got != want {
		t.Errorf("resume after %d, want %d", got, want)
	}
	if _, err := w.Next(t.Context()); !errors.Is(err, ErrStalled) {
		t.Errorf("Next after Cut = %v, want ErrStalled", err)
	}
}
