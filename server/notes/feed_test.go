package notes

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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
	// The delivery takes one batch before it waits, of any size: twice
	// maxPending makes either that batch or what comes after it overrun.
	for i := range 2*maxPending + 1 {
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

// TestEventEncodedOncePerFormat has many watchers of one event ask for its
// encoding in two formats at once: each format is encoded once, and every
// watcher gets its bytes.
func TestEventEncodedOncePerFormat(t *testing.T) {
	t.Parallel()
	ev := newEvent(Note{Seq: 1}, 0)
	var encoded [2]atomic.Int64
	formats := [2]string{"proto", "json"}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			<-start
			f := i % 2
			got, err := ev.Encoded(formats[f], func() ([]byte, error) {
				encoded[f].Add(1)
				return []byte(formats[f]), nil
			})
			if err != nil || string(got) != formats[f] {
				errs <- fmt.Errorf("Encoded(%q) = %q, %v, want %[1]q", formats[f], got, err)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for f := range encoded {
		if got, want := encoded[f].Load(), int64(1); got != want {
			t.Errorf("format %q encoded %d times, want %d", formats[f], got, want)
		}
	}
}

// TestEventCached checks that Cached gives an event's bytes in a format
// only once a watcher has encoded them, never encodes, and gives none for
// an encoding that failed or an event that caches nothing.
func TestEventCached(t *testing.T) {
	t.Parallel()
	ev := newEvent(Note{Seq: 1}, 0)
	if got, ok := ev.Cached("proto"); ok {
		t.Errorf("Cached before any encoding = %q, want none", got)
	}
	if _, err := ev.Encoded("proto", func() ([]byte, error) { return []byte("p"), nil }); err != nil {
		t.Fatal(err)
	}
	if got, ok := ev.Cached("proto"); !ok || string(got) != "p" {
		t.Errorf("Cached(proto) = %q, %t, want %q", got, ok, "p")
	}
	if _, err := ev.Encoded("json", func() ([]byte, error) { return nil, errors.New("bad") }); err == nil {
		t.Fatal("Encoded(json) of a failing encoder succeeded")
	}
	if got, ok := ev.Cached("json"); ok {
		t.Errorf("Cached(json) after a failed encoding = %q, want none", got)
	}
	if got, ok := (Event{Seq: 1}).Cached("proto"); ok {
		t.Errorf("Cached of an event made outside a store = %q, want none", got)
	}
}
