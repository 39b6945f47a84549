package notes

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/routeguide/routeguide/server/limits"
)

// TestLiveLogBuffer checks the live log's bound from both sides: a watcher
// exactly a buffer behind reads every event it missed, one more behind is
// cut off with ErrTooSlow, and the log itself never holds more than twice
// the buffer, however many events pass.
func TestLiveLogBuffer(t *testing.T) {
	t.Parallel()
	const buffer = 8
	s := NewMemory(limits.Limits{MaxNotesPerLocation: 1000, MaxStoredNoteBytes: 1 << 20, WatchBuffer: buffer})
	defer s.Close()
	watch := func() *Watcher {
		w, err := s.Watch(t.Context(), WatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		return w
	}
	exact, over, paced := watch(), watch(), watch()
	for i := range buffer + 1 {
		add(t, s, note(1, 1, fmt.Sprint(i)))
		if i == 0 {
			// exact reads the first, so it is a buffer behind at the end.
			if ev, err := exact.Next(t.Context()); err != nil || ev.Note.GetMessage() != "0" {
				t.Fatalf("first event: %v, %v", ev.Note.GetMessage(), err)
			}
		}
		if _, err := paced.Next(t.Context()); err != nil { // waits for the delivery
			t.Fatal(err)
		}
	}
	for i := 1; i <= buffer; i++ {
		ev, err := exact.Next(t.Context())
		if err != nil || ev.Note.GetMessage() != fmt.Sprint(i) {
			t.Fatalf("a watcher %d behind: event %d is %q, %v", buffer, i, ev.Note.GetMessage(), err)
		}
	}
	var resume *ResumeError
	if _, err := over.Next(t.Context()); !errors.As(err, &resume) || !errors.Is(err, ErrTooSlow) || resume.After != 0 {
		t.Errorf("a watcher %d behind: %v, want ErrTooSlow to resume after 0", buffer+1, err)
	}

	for i := range 10 * buffer {
		add(t, s, note(1, 1, fmt.Sprint(i)))
		if _, err := paced.Next(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := len(s.feed.live.Load().events); n > 2*buffer {
			t.Fatalf("the live log holds %d events, more than twice its buffer of %d", n, buffer)
		}
	}
}

// TestLiveLogWakesEveryGroup has more watchers waiting than the small wake
// groups hold: one delivery must wake them all, in the small groups and
// the last, and a delivery no watcher waits for makes no channel.
func TestLiveLogWakesEveryGroup(t *testing.T) {
	t.Parallel()
	s := NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 20})
	defer s.Close()
	add(t, s, note(1, 1, "before anyone waits"))
	for g := range wakeGroups {
		if s.feed.live.Load().wake[g].ch.Load() != nil {
			t.Fatalf("wake group %d has a channel with no watcher", g)
		}
	}
	const watchers = fanOutWave*fanOutYields + 50
	var ready, done sync.WaitGroup
	errs := make(chan error, watchers)
	for range watchers {
		w, err := s.Watch(t.Context(), WatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if _, ok, err := w.TryNext(); ok || err != nil {
			t.Fatalf("a new watcher has an event ready: %v, %v", ok, err)
		}
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			ev, err := w.Next(t.Context())
			if err == nil && ev.Note.GetMessage() != "wake" {
				err = fmt.Errorf("got %q, want the note that woke it", ev.Note.GetMessage())
			}
			errs <- err
		})
	}
	ready.Wait()
	add(t, s, note(1, 1, "wake"))
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s.feed.mu.Lock()
	groups := s.feed.groups
	s.feed.mu.Unlock()
	for g := range fanOutYields {
		if groups[g] != fanOutWave {
			t.Errorf("small wake group %d holds %d watchers, want %d", g, groups[g], fanOutWave)
		}
	}
	if groups[wakeGroups-1] != 50 {
		t.Errorf("the last wake group holds %d watchers, want 50", groups[wakeGroups-1])
	}
}
