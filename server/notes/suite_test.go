package notes_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

// suiteLimits are the limits every store of the suite is opened with.
type suiteLimits struct {
	maxPerLocation int
	buffer         int
	replayLimit    int
}

var defaultSuiteLimits = suiteLimits{maxPerLocation: 3, buffer: 8, replayLimit: 10}

// opener opens a fresh, empty store with the given limits.
type opener func(t *testing.T, l suiteLimits) notes.Store

func openJetStream(t *testing.T, l suiteLimits) notes.Store {
	nats := natstest.Start(t)
	return openJetStreamAt(t, nats.URL(), l)
}

func openJetStreamAt(t *testing.T, url string, l suiteLimits) *notes.JetStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := notes.OpenJetStream(ctx, notes.JetStreamConfig{
		URLs:    url,
		Limits:  limits.Limits{MaxNotesPerLocation: l.maxPerLocation, WatchBuffer: l.buffer, MaxReplay: l.replayLimit},
		Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openMemory(t *testing.T, l suiteLimits) notes.Store {
	s := notes.NewMemory(limits.Limits{MaxNotesPerLocation: l.maxPerLocation, MaxStoredNoteBytes: 1 << 30, WatchBuffer: l.buffer, MaxReplay: l.replayLimit})
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMemoryStore(t *testing.T) {
	t.Parallel()
	runSuite(t, openMemory)
}

func TestJetStreamStore(t *testing.T) {
	t.Parallel()
	runSuite(t, openJetStream)
}

func runSuite(t *testing.T, open opener) {
	for _, c := range []struct {
		name string
		test func(*testing.T, opener)
	}{
		{"RepliesWithTheLocationsNotes", testRepliesWithTheLocationsNotes},
		{"KeepsNewestAtALocation", testKeepsNewestAtALocation},
		{"ConcurrentAddsAgreeOnOneOrder", testConcurrentAddsAgreeOnOneOrder},
		{"WatchSeesLaterNotesOnceInOrder", testWatchSeesLaterNotesOnceInOrder},
		{"WatchMatch", testWatchMatch},
		{"WatchReplaysAfterSequence", testWatchReplaysAfterSequence},
		{"SlowWatcherIsCutOff", testSlowWatcherIsCutOff},
		{"Stats", testStats},
		{"CloseEndsWatchers", testCloseEndsWatchers},
		{"NotesCarryTheirAuthors", testNotesCarryTheirAuthors},
		{"DeleteRemovesEverywhere", testDeleteRemovesEverywhere},
		{"DeleteUnknownIsNotFound", testDeleteUnknownIsNotFound},
		{"StaleResumeIsRefused", testStaleResumeIsRefused},
		{"CutWatcherSaysWhereToResume", testCutWatcherSaysWhereToResume},
		{"LongReplayIsPaged", testLongReplayIsPaged},
		{"EventIsEncodedOnce", testEventIsEncodedOnce},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, open)
		})
	}
}

func note(lat, lng int32, message string) *routeguide.RouteNote {
	return &routeguide.RouteNote{Location: &routeguide.Point{Latitude: lat, Longitude: lng}, Message: message}
}

func messages(ns []notes.Note) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Note.GetMessage()
	}
	return out
}

func add(t *testing.T, s notes.Store, n *routeguide.RouteNote) []string {
	t.Helper()
	got, err := s.Add(t.Context(), n, notes.Author{})
	if err != nil {
		t.Fatalf("add %q: %v", n.GetMessage(), err)
	}
	return messages(got)
}

// next returns the watcher's next note, failing the test after 5s.
func next(t *testing.T, w *notes.Watcher) notes.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	ev, err := w.Next(ctx)
	if err != nil {
		t.Fatalf("next note: %v", err)
	}
	return ev
}

// nothingMore checks that the watcher has no note waiting.
func nothingMore(t *testing.T, w *notes.Watcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if ev, err := w.Next(ctx); err == nil {
		t.Fatalf("unexpected note %d %q", ev.Seq, ev.Note.GetMessage())
	}
}

func testRepliesWithTheLocationsNotes(t *testing.T, open opener) {
	s := open(t, defaultSuiteLimits)
	if got, want := add(t, s, note(1, -2, "a")), []string{"a"}; !slices.Equal(got, want) {
		t.Errorf("first note: replies %q, want %q", got, want)
	}
	add(t, s, note(2, -2, "elsewhere"))
	add(t, s, note(-1, 2, "elsewhere"))
	if got, want := add(t, s, note(1, -2, "b")), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("second note: replies %q, want %q", got, want)
	}
	got, err := s.Add(t.Context(), note(1, -2, ""), notes.Author{})
	if err != nil {
		t.Fatal(err)
	}
	last := got[len(got)-1].Note
	if last.GetLocation().GetLatitude() != 1 || last.GetLocation().GetLongitude() != -2 || last.GetMessage() != "" {
		t.Errorf("empty note replied as %v", last)
	}
}

func testKeepsNewestAtALocation(t *testing.T, open opener) {
	s := open(t, defaultSuiteLimits)
	var got []string
	for i := range 5 {
		got = add(t, s, note(7, 7, fmt.Sprint(i)))
	}
	if want := []string{"2", "3", "4"}; !slices.Equal(got, want) {
		t.Errorf("replies to the fifth note = %q, want the newest three %q", got, want)
	}
}

// testConcurrentAddsAgreeOnOneOrder posts from many goroutines at one
// location: each reply must end with its own note, and all replies must be
// runs of one order of notes.
func testConcurrentAddsAgreeOnOneOrder(t *testing.T, open opener) {
	const writers, each = 4, 10
	s := open(t, suiteLimits{maxPerLocation: writers * each, buffer: 8, replayLimit: 10})
	replies := make([][]string, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				msg := fmt.Sprintf("%d-%d", w, i)
				got, err := s.Add(t.Context(), note(3, 3, msg), notes.Author{})
				if err != nil {
					t.Error(err)
					return
				}
				replies[w*each+i] = messages(got)
			}
		})
	}
	wg.Wait()
	// The longest reply is the order; every other is a prefix of it.
	var order []string
	for _, r := range replies {
		if len(r) > len(order) {
			order = r
		}
	}
	for i, r := range replies {
		if len(r) == 0 || r[len(r)-1] != fmt.Sprintf("%d-%d", i/each, i%each) {
			t.Errorf("reply to note %d-%d ends with %q", i/each, i%each, r)
		}
		if !slices.Equal(r, order[:len(r)]) {
			t.Errorf("reply %q is not a prefix of %q", r, order)
		}
	}
}

func testWatchSeesLaterNotesOnceInOrder(t *testing.T, open opener) {
	s := open(t, defaultSuiteLimits)
	add(t, s, note(1, 1, "before"))
	w, err := s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	start := time.Now()
	for i := range 5 {
		add(t, s, note(int32(i), 1, fmt.Sprint(i)))
	}
	var prev uint64
	for i := range 5 {
		ev := next(t, w)
		if got, want := ev.Note.GetMessage(), fmt.Sprint(i); got != want {
			t.Errorf("note %d is %q, want %q", i, got, want)
		}
		if ev.Note.GetLocation().GetLatitude() != int32(i) {
			t.Errorf("note %d at %v", i, ev.Note.GetLocation())
		}
		if ev.Seq <= prev {
			t.Errorf("sequence %d after %d", ev.Seq, prev)
		}
		prev = ev.Seq
		if ev.Time.Before(start.Add(-time.Second)) || ev.Time.After(time.Now().Add(time.Second)) {
			t.Errorf("note %d posted at %v, outside the test's time", i, ev.Time)
		}
	}
	nothingMore(t, w)
}

func testWatchMatch(t *testing.T, open opener) {
	s := open(t, defaultSuiteLimits)
	w, err := s.Watch(t.Context(), notes.WatchOptions{
		Match: func(n *routeguide.RouteNote) bool { return n.GetLocation().GetLatitude() > 0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	add(t, s, note(-1, 0, "south"))
	add(t, s, note(1, 0, "north"))
	if got := next(t, w).Note.GetMessage(); got != "north" {
		t.Errorf("watcher of the north got %q", got)
	}
	nothingMore(t, w)
}

func testWatchReplaysAfterSequence(t *testing.T, open opener) {
	s := open(t, defaultSuiteLimits) // replay limit 10
	live, err := s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	var seqs []uint64
	for i := range 15 {
		add(t, s, note(int32(i), 0, fmt.Sprint(i)))
		seqs = append(seqs, next(t, live).Seq)
	}
	watch := func(after uint64) *notes.Watcher {
		w, err := s.Watch(t.Context(), notes.WatchOptions{After: &after})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		return w
	}

	// Resume after the twelfth note: the last three, then live ones.
	w := watch(seqs[11])
	add(t, s, note(0, 0, "live"))
	for _, want := range []string{"12", "13", "14", "live"} {
		if got := next(t, w).Note.GetMessage(); got != want {
			t.Fatalf("resumed watcher got %q, want %q", got, want)
		}
	}
	nothingMore(t, w)

	// From the start: no more than the replay limit, the newest.
	w = watch(0)
	for _, want := range []string{"6", "7", "8", "9", "10", "11", "12", "13", "14", "live"} {
		if got := next(t, w).Note.GetMessage(); got != want {
			t.Fatalf("replaying watcher got %q, want %q", got, want)
		}
	}
	nothingMore(t, w)
}

func testSlowWatcherIsCutOff(t *testing.T, open opener) {
	s := open(t, defaultSuiteLimits) // buffer 8
	slow, err := s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast, err := s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	for i := range 20 {
		add(t, s, note(int32(i), 0, fmt.Sprint(i)))
		if got := next(t, fast).Note.GetMessage(); got != fmt.Sprint(i) {
			t.Fatalf("fast watcher got %q, want %d", got, i)
		}
	}
	_, err = slow.Next(t.Context())
	if !errors.Is(err, notes.ErrTooSlow) {
		t.Errorf("slow watcher got %v, want ErrTooSlow", err)
	}
}

func testStats(t *testing.T, open opener) {
	s := open(t, defaultSuiteLimits)
	for i := range 5 {
		add(t, s, note(int32(i%2), 0, "x"))
	}
	if st := s.Stats(); st.Notes != 5 || st.Locations != 2 || st.Bytes <= 0 {
		t.Errorf("stats = %+v, want 5 notes at 2 locations", st)
	}
}

func testCloseEndsWatchers(t *testing.T, open opener) {
	s := open(t, defaultSuiteLimits)
	w, err := s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Next(t.Context()); !errors.Is(err, notes.ErrClosed) {
		t.Errorf("watcher of a closed store got %v, want ErrClosed", err)
	}
	if _, err := s.Add(t.Context(), note(1, 1, "late"), notes.Author{}); err == nil {
		t.Error("a closed store took a note")
	}
}
