package notes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/routeguide/routeguide/server/limits"
)

// TestLiveLogBuffer checks the live log's bound from both sides: a watcher
// a buffer behind reads every event it missed, one whose next events the
// log dropped is cut off with ErrTooSlow, and the log itself never holds
// more than twice the buffer, however many events pass one at a time.
func TestLiveLogBuffer(t *testing.T) {
	t.Parallel()
	const buffer = 8
	s := NewMemory(limits.Limits{MaxNotesPerLocation: 1000, MaxStoredNoteBytes: 1 << 20, WatchBuffer: buffer})
	defer s.Close()
	exact, over, paced := watchOf(t, s), watchOf(t, s), watchOf(t, s)
	post := func(msg string) {
		t.Helper()
		add(t, s, note(1, 1, msg))
		if _, err := paced.Next(t.Context()); err != nil { // waits for the delivery
			t.Fatal(err)
		}
	}
	for i := range buffer + 1 {
		post(fmt.Sprint(i))
		if i == 0 {
			// exact reads the first, so it is a buffer behind at the end.
			if ev, err := exact.Next(t.Context()); err != nil || ev.Note.GetMessage() != "0" {
				t.Fatalf("first event: %v, %v", ev.Note.GetMessage(), err)
			}
		}
	}
	for i := 1; i <= buffer; i++ {
		ev, err := exact.Next(t.Context())
		if err != nil || ev.Note.GetMessage() != fmt.Sprint(i) {
			t.Fatalf("a watcher %d behind: event %d is %q, %v", buffer, i, ev.Note.GetMessage(), err)
		}
	}
	// The log drops the oldest once it holds twice the buffer.
	for i := buffer + 1; i <= 2*buffer; i++ {
		post(fmt.Sprint(i))
	}
	var resume *ResumeError
	if _, err := over.Next(t.Context()); !errors.As(err, &resume) || !errors.Is(err, ErrTooSlow) || resume.After != 0 {
		t.Errorf("a watcher %d behind: %v, want ErrTooSlow to resume after 0", 2*buffer+1, err)
	}

	for i := range 10 * buffer {
		post(fmt.Sprint(i))
		if n := len(s.feed.live.Load().events); n > 2*buffer {
			t.Fatalf("the live log holds %d events, more than twice its buffer of %d", n, buffer)
		}
	}
}

// TestLiveLogKeepsABurst delivers more than a buffer of events at once, as
// a feed catching up after its store stalled does: a watcher that reads
// must get them all, not be cut off for being behind (a nemesis run had
// seven watches cut off so after NATS faults).
func TestLiveLogKeepsABurst(t *testing.T) {
	t.Parallel()
	const buffer, burst = 8, 5 * 8
	s := NewMemory(limits.Limits{MaxNotesPerLocation: 1000, MaxStoredNoteBytes: 1 << 20, WatchBuffer: buffer})
	defer s.Close()
	w := watchOf(t, s)
	s.feed.mu.Lock() // delivery waits for this, then takes what waits at once
	for i := range burst {
		add(t, s, note(1, 1, fmt.Sprint(i)))
	}
	s.feed.mu.Unlock()
	for i := range burst {
		ev, err := w.Next(t.Context())
		if err != nil || ev.Note.GetMessage() != fmt.Sprint(i) {
			t.Fatalf("event %d of a burst of %d: %q, %v", i, burst, ev.Note.GetMessage(), err)
		}
	}
}

// watchOf starts a watcher of s's live events, closed when the test ends.
func watchOf(t *testing.T, s *Memory) *Watcher {
	t.Helper()
	w, err := s.Watch(t.Context(), WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// TestLiveLogWakesEveryGroup has more watchers waiting than the small wake
// groups hold: one delivery must wake them all, in the small groups and
// the larger ones after them, and a delivery no watcher waits for makes no
// channel.
func TestLiveLogWakesEveryGroup(t *testing.T) {
	t.Parallel()
	s := NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 20})
	defer s.Close()
	add(t, s, note(1, 1, "before anyone waits"))
	for g := range s.feed.live.Load().wake {
		if s.feed.live.Load().wake[g].ch.Load() != nil {
			t.Fatalf("wake group %d has a channel with no watcher", g)
		}
	}
	const watchers = fanOutWave*fanOutYields + cutWave + 10
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
	if want := []int{cutWave, 10}; !slices.Equal(groups[fanOutYields:], want) {
		t.Errorf("the larger wake groups hold %d watchers, want %d", groups[fanOutYields:], want)
	}
}

// TestCutWakesAWaitingWatcher cuts off watchers waiting for an event, from
// other goroutines, each as it starts to wait or while it waits: each Next
// must return the cut at once, though a watcher waits on its group's
// channel alone, and the watchers of its group woken with it must wait
// again and get the next event.
func TestCutWakesAWaitingWatcher(t *testing.T) {
	t.Parallel()
	s := NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 20})
	defer s.Close()
	// A bound on a broken wake-up, so that the test fails rather than
	// hangs; a cut watcher wakes within microseconds.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	const others = fanOutWave*fanOutYields + 2*cutWave
	got := make(chan error, others)
	for range others {
		w, err := s.Watch(ctx, WatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		go func() {
			ev, err := w.Next(ctx)
			if err == nil && ev.Note.GetMessage() != "after the cuts" {
				err = fmt.Errorf("got %q, want the note after the cuts", ev.Note.GetMessage())
			}
			got <- err
		}()
	}
	cause := errors.New("cut for the test")
	for i := range 200 {
		w, err := s.Watch(ctx, WatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ended := make(chan error, 1)
		go func() {
			_, err := w.Next(ctx)
			ended <- err
		}()
		if i%2 == 1 {
			time.Sleep(time.Millisecond) // waiting by now, most likely
		}
		w.Cut(cause)
		if err := <-ended; !errors.Is(err, cause) {
			t.Fatalf("cut %d: Next returned %v, want the cut", i, err)
		}
		w.Close()
	}
	add(t, s, note(1, 1, "after the cuts"))
	for range others {
		if err := <-got; err != nil {
			t.Error(err)
		}
	}
}
