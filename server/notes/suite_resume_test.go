package notes_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/notes"
)

// testStaleResumeIsRefused resumes from another life of the store, and
// from beyond its end: both are refused, never answered with nothing.
func testStaleResumeIsRefused(t *testing.T, open opener) {
	s := open(t, defaultSuiteLimits)
	epoch := s.Epoch()
	if epoch == "" {
		t.Fatal("the store has no epoch")
	}
	if other := open(t, defaultSuiteLimits).Epoch(); other == epoch {
		t.Errorf("two stores share the epoch %q", epoch)
	}
	add(t, s, note(1, 1, "a"))
	add(t, s, note(1, 1, "b"))
	for _, c := range []struct {
		after uint64
		epoch string
	}{
		{1, "another"},
		{100, ""},
		{100, epoch},
	} {
		w, err := s.Watch(t.Context(), notes.WatchOptions{After: &c.after, Epoch: c.epoch})
		if err == nil {
			w.Close()
		}
		if !errors.Is(err, notes.ErrStaleResume) {
			t.Errorf("resume after %d of epoch %q: %v, want ErrStaleResume", c.after, c.epoch, err)
		}
	}
	after := uint64(1)
	w, err := s.Watch(t.Context(), notes.WatchOptions{After: &after, Epoch: epoch})
	if err != nil {
		t.Fatalf("resume in the store's own epoch: %v", err)
	}
	defer w.Close()
	if got := next(t, w).Note.GetMessage(); got != "b" {
		t.Errorf("resumed watcher got %q, want b", got)
	}
	if w.Epoch() != epoch {
		t.Errorf("watcher's epoch %q, store's %q", w.Epoch(), epoch)
	}
}

// testCutWatcherSaysWhereToResume cuts a watcher off after it read a note:
// its error says to resume after that note.
func testCutWatcherSaysWhereToResume(t *testing.T, open opener) {
	s := open(t, suiteLimits{maxPerLocation: 3, buffer: 2, replayLimit: 10})
	w, err := s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	add(t, s, note(1, 1, "read"))
	read := next(t, w).Seq
	// Wait for each note to reach a second watcher, so the first is
	// certainly cut by the time we look.
	fast, err := s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	// The live log keeps at least the buffer, 2 events, behind its end,
	// and up to twice that: 5 more leave the first behind it.
	for i := range 5 {
		add(t, s, note(1, 1, fmt.Sprint(i)))
		next(t, fast)
	}
	_, err = w.Next(t.Context())
	var resume *notes.ResumeError
	if !errors.As(err, &resume) || !errors.Is(err, notes.ErrTooSlow) {
		t.Fatalf("cut watcher got %v, want a ResumeError for ErrTooSlow", err)
	}
	if resume.After != read || resume.Epoch != s.Epoch() {
		t.Errorf("resume after %d of %q, want after %d of %q", resume.After, resume.Epoch, read, s.Epoch())
	}
}

// testLongReplayIsPaged replays more notes than one page, through a filter
// that keeps a few: all come, in order, once.
func testLongReplayIsPaged(t *testing.T, open opener) {
	const n = 150
	s := open(t, suiteLimits{maxPerLocation: n, buffer: 8, replayLimit: 1000})
	for i := range n {
		add(t, s, note(int32(i%7), 0, fmt.Sprint(i)))
	}
	after := uint64(0)
	w, err := s.Watch(t.Context(), notes.WatchOptions{
		After: &after,
		Match: func(rn *routeguide.RouteNote) bool { return rn.GetLocation().GetLatitude() == 3 },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 3; i < n; i += 7 {
		if got := next(t, w).Note.GetMessage(); got != fmt.Sprint(i) {
			t.Fatalf("replay gave %q, want %d", got, i)
		}
	}
	nothingMore(t, w)
}

// testEventIsEncodedOnce has two watchers encode the same note: the
// encoding is made once per format and shared.
func testEventIsEncodedOnce(t *testing.T, open opener) {
	s := open(t, defaultSuiteLimits)
	var ws []*notes.Watcher
	for range 2 {
		w, err := s.Watch(t.Context(), notes.WatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		ws = append(ws, w)
	}
	add(t, s, note(1, 1, "once"))
	encoded := 0
	encode := func() ([]byte, error) {
		encoded++
		return []byte("bytes"), nil
	}
	for _, w := range ws {
		ev := next(t, w)
		for _, format := range []string{"proto", "json"} {
			if got, err := ev.Encoded(format, encode); err != nil || string(got) != "bytes" {
				t.Errorf("Encoded(%q) = %q, %v", format, got, err)
			}
		}
	}
	if encoded != 2 {
		t.Errorf("encoded %d times for two watchers in two formats, want 2", encoded)
	}
}
