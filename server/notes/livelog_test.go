package notes

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/routeguide/routeguide/server/geo"
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
	// The first note's delivery takes it alone and waits for the lock: the
	// burst is all the second's. Had the deliverer taken more than a buffer
	// before it waited, the watcher, which has read none of the first
	// delivery, would rightly be cut off when the second came.
	add(t, s, note(1, 1, "0"))
	for !deliveryWaits(s) {
		runtime.Gosched()
	}
	for i := 1; i < burst; i++ {
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

// deliveryWaits reports whether s's feed has a delivery under way that
// has taken every event queued.
func deliveryWaits(s *Memory) bool {
	s.feed.queueMu.Lock()
	defer s.feed.queueMu.Unlock()
	return s.feed.running && len(s.feed.pending) == 0
}

// watchOf starts a watcher of s's live events, closed when the test ends.
func watchOf(t *testing.T, s *Memory, opts ...WatchOptions) *Watcher {
	t.Helper()
	var o WatchOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	w, err := s.Watch(t.Context(), o)
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
	// They opened after a delivery made with none waiting, so more groups
	// than the log had slots for: each group must wait in a slot of its
	// own, not the groups made since the delivery all in its last, which
	// would wake them at once, outside the waves.
	s.feed.mu.Lock()
	groups := len(s.feed.groups.n)
	s.feed.mu.Unlock()
	l := s.feed.live.Load()
	if groups <= fanOutYields+1 || len(l.wake) < groups {
		t.Fatalf("%d wake groups, and %d wake slots in the live log: want more than %d groups, a slot for each", groups, len(l.wake), fanOutYields+1)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		waiting := 0
		for g := range groups {
			if l.wake[g].ch.Load() != nil {
				waiting++
			}
		}
		if waiting == groups {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("watchers wait in %d of the %d groups' wake slots, want all", waiting, groups)
		}
	}
	add(t, s, note(1, 1, "wake"))
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s.feed.mu.Lock()
	sizes := slices.Clone(s.feed.groups.n)
	s.feed.mu.Unlock()
	for g := range fanOutYields {
		if sizes[g] != fanOutWave {
			t.Errorf("small wake group %d holds %d watchers, want %d", g, sizes[g], fanOutWave)
		}
	}
	if want := []int{cutWave, 10}; !slices.Equal(sizes[fanOutYields:], want) {
		t.Errorf("the larger wake groups hold %d watchers, want %d", sizes[fanOutYields:], want)
	}
}

// boundedStore returns a memory store for a test, and a context that
// bounds a broken wake-up, so that the test fails rather than hangs: a
// watcher wakes within microseconds.
func boundedStore(t *testing.T) (*Memory, context.Context) {
	t.Helper()
	s := NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 20})
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return s, ctx
}

// TestCutWakesAWaitingWatcher cuts off watchers waiting for an event, from
// other goroutines, each as it starts to wait or while it waits: each Next
// must return the cut at once, though a watcher waits on its group's
// channel alone, and the watchers of its group woken with it must wait
// again and get the next event.
func TestCutWakesAWaitingWatcher(t *testing.T) {
	t.Parallel()
	s, ctx := boundedStore(t)
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
	area := geo.Bounds{MinLatitude: 0, MaxLatitude: 2, MinLongitude: 0, MaxLongitude: 2}
	for i := range 200 {
		opts := WatchOptions{}
		if i%4 >= 2 {
			opts.Area = &area // woken on a channel of its own
		}
		w, err := s.Watch(ctx, opts)
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

// TestAreaWatchersWokenForTheirNotes has watchers of three areas and one of
// the world: a delivery wakes, of the watchers of an area, only those whose
// area holds its note, and each watcher gets the notes its area holds.
// Watchers leaving in any order keep the feed's list of areas whole.
func TestAreaWatchersWokenForTheirNotes(t *testing.T) {
	t.Parallel()
	s, ctx := boundedStore(t)
	around := func(lat, lng int32) *geo.Bounds {
		return &geo.Bounds{MinLatitude: lat - 1, MaxLatitude: lat + 1, MinLongitude: lng - 1, MaxLongitude: lng + 1}
	}
	both := &geo.Bounds{MinLatitude: 0, MaxLatitude: 10, MinLongitude: 0, MaxLongitude: 10}
	watch := func(area *geo.Bounds) *Watcher {
		w, err := s.Watch(ctx, WatchOptions{Area: area})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		return w
	}
	first, second, wide, world := watch(around(1, 1)), watch(around(5, 5)), watch(both), watch(nil)

	add(t, s, note(1, 1, "at the first"))
	for name, w := range map[string]*Watcher{"first": first, "wide": wide, "world": world} {
		if ev, err := w.Next(ctx); err != nil || ev.Note.GetMessage() != "at the first" {
			t.Errorf("%s: got %q, %v; want the note at the first", name, ev.Note.GetMessage(), err)
		}
	}
	s.feed.mu.Lock()
	var woken []*Watcher
	for _, hit := range s.feed.areasHolding(s.feed.live.Load().end-1, nil) {
		woken = append(woken, hit.w)
	}
	s.feed.mu.Unlock()
	if !sameWatchers(woken, first, wide) {
		t.Errorf("the note at the first woke %d watchers of an area, want the first's and the wide one's", len(woken))
	}

	add(t, s, note(5, 5, "at the second"))
	if ev, err := second.Next(ctx); err != nil || ev.Note.GetMessage() != "at the second" {
		t.Errorf("second: got %q, %v; want the note at the second only", ev.Note.GetMessage(), err)
	}

	// Leaving from the middle and the end of the list.
	first.Close()
	world.Close()
	late := watch(around(5, 5))
	wide.Close()
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	var left []*Watcher
	for i, a := range s.feed.areas {
		if int(a.w.group) != i {
			t.Errorf("the watcher at %d of the areas has its place as %d", i, a.w.group)
		}
		left = append(left, a.w)
	}
	if !sameWatchers(left, second, late) {
		t.Errorf("%d watchers of an area left, want the second's two", len(left))
	}
}

func sameWatchers(got []*Watcher, want ...*Watcher) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

// TestAreaWatcherFallsBehindOnlyInItsArea checks the buffer's bound for a
// watcher of an area, which no delivery outside its area wakes: it may be
// any number of notes behind the log as long as none is in its area, and
// gets the next in its area; but once the log drops a note in its area
// that it has not read, it is cut off, as a watcher of the world is.
func TestAreaWatcherFallsBehindOnlyInItsArea(t *testing.T) {
	t.Parallel()
	const buffer = 8
	s := NewMemory(limits.Limits{MaxNotesPerLocation: 1000, MaxStoredNoteBytes: 1 << 20, WatchBuffer: buffer})
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	here := &geo.Bounds{MinLatitude: 0, MaxLatitude: 2, MinLongitude: 0, MaxLongitude: 2}
	quiet, slow := watchOf(t, s, WatchOptions{Area: here}), watchOf(t, s, WatchOptions{Area: here})
	paced := watchOf(t, s)
	post := func(lat int32, msg string) {
		t.Helper()
		add(t, s, note(lat, 1, msg))
		if _, err := paced.Next(ctx); err != nil { // waits for the delivery
			t.Fatal(err)
		}
	}
	for i := range 5 * buffer {
		post(50, fmt.Sprint("elsewhere ", i))
	}
	post(1, "here")
	for name, w := range map[string]*Watcher{"quiet": quiet, "slow": slow} {
		if ev, err := w.Next(ctx); err != nil || ev.Note.GetMessage() != "here" {
			t.Fatalf("%s, after %d notes outside its area: got %q, %v; want the note in it", name, 5*buffer, ev.Note.GetMessage(), err)
		}
	}
	// quiet reads the next note in its area; slow does not, while the
	// log drops it.
	post(1, "here again")
	if ev, err := quiet.Next(ctx); err != nil || ev.Note.GetMessage() != "here again" {
		t.Errorf("quiet: got %q, %v; want the second note in its area", ev.Note.GetMessage(), err)
	}
	for i := range 3 * buffer {
		post(50, fmt.Sprint("elsewhere again ", i))
	}
	post(1, "third")
	if ev, err := quiet.Next(ctx); err != nil || ev.Note.GetMessage() != "third" {
		t.Errorf("quiet: got %q, %v; want the third note in its area", ev.Note.GetMessage(), err)
	}
	if ev, err := slow.Next(ctx); !errors.Is(err, ErrTooSlow) {
		t.Errorf("a watcher of an area that let the log drop a note in it: %q, %v; want ErrTooSlow", ev.Note.GetMessage(), err)
	}
}

// TestWavesStepAsideThroughTheFanOut checks the pacing of a delivery's
// wake-ups: a step aside after each small wave, then after every restWave
// watchers however they come, by group or by area, to the end.
func TestWavesStepAsideThroughTheFanOut(t *testing.T) {
	t.Parallel()
	var w waves
	for range fanOutYields {
		w.woke(fanOutWave)
	}
	if w.steps != fanOutYields {
		t.Fatalf("after the small waves: %d steps aside, want %d", w.steps, fanOutYields)
	}
	for range restWave/cutWave - 1 {
		w.woke(cutWave)
	}
	if w.steps != fanOutYields {
		t.Fatalf("a step aside before a whole wave of %d: %d steps", restWave, w.steps)
	}
	w.woke(cutWave)
	for range restWave {
		w.woke(1) // watchers of areas, after the groups
	}
	if want := fanOutYields + 2; w.steps != want {
		t.Errorf("after two more waves, of groups then of areas: %d steps aside, want %d", w.steps, want)
	}
}
