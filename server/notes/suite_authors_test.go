package notes_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/notes"
)

// testNotesCarryTheirAuthors posts signed-in and anonymous notes: Add's
// replies, the live feed and a replay all say who posted each.
func testNotesCarryTheirAuthors(t *testing.T, open opener) {
	s := open(t, suiteLimits{maxPerLocation: 10, buffer: 8, replayLimit: 10})
	live, err := s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	ada := notes.Author{ID: "a1b2-c3_d4", Name: "Ada Lovelace \u202e"}
	long := notes.Author{ID: "x", Name: strings.Repeat("é", notes.MaxAuthorNameBytes) + "\n"}
	for _, a := range []notes.Author{ada, {}, long} {
		if _, err := s.Add(t.Context(), note(4, 4, "by "+a.ID), a); err != nil {
			t.Fatal(err)
		}
	}
	cut := notes.Author{ID: "x", Name: strings.Repeat("é", notes.MaxAuthorNameBytes/2)}
	want := []notes.Author{ada, {}, cut}

	replies, err := s.Add(t.Context(), note(4, 4, "anonymous"), notes.Author{Name: "ignored without an ID"})
	if err != nil {
		t.Fatal(err)
	}
	var got []notes.Author
	for _, r := range replies {
		got = append(got, r.Author)
	}
	if diff := cmp.Diff(append(want, notes.Author{}), got); diff != "" {
		t.Errorf("authors in Add's replies (-want +got):\n%s", diff)
	}

	got = nil
	for range 4 {
		got = append(got, next(t, live).Author)
	}
	if diff := cmp.Diff(append(want, notes.Author{}), got); diff != "" {
		t.Errorf("authors in the feed (-want +got):\n%s", diff)
	}

	after := uint64(0)
	replay, err := s.Watch(t.Context(), notes.WatchOptions{After: &after})
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close()
	got = nil
	for range 4 {
		got = append(got, next(t, replay).Author)
	}
	if diff := cmp.Diff(append(want, notes.Author{}), got); diff != "" {
		t.Errorf("authors in a replay (-want +got):\n%s", diff)
	}

	if _, err := s.Add(t.Context(), note(4, 4, "x"), notes.Author{ID: "not an id"}); err == nil {
		t.Error("stored a note by an author whose ID has spaces")
	}
}

// testDeleteRemovesEverywhere deletes a note: it leaves Add's replies and
// replays, watchers of its area learn of it live, and the others do not.
func testDeleteRemovesEverywhere(t *testing.T, open opener) {
	s := open(t, suiteLimits{maxPerLocation: 10, buffer: 8, replayLimit: 10})
	watch := func(opts notes.WatchOptions) *notes.Watcher {
		w, err := s.Watch(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		return w
	}
	here := watch(notes.WatchOptions{Match: func(n *routeguide.RouteNote) bool { return n.GetLocation().GetLatitude() == 6 }})
	elsewhere := watch(notes.WatchOptions{Match: func(n *routeguide.RouteNote) bool { return n.GetLocation().GetLatitude() != 6 }})
	mod := notes.Author{ID: "poster", Name: "Poster"}
	var seqs []uint64
	for _, m := range []string{"keep", "spam", "keep too"} {
		if _, err := s.Add(t.Context(), note(6, 6, m), mod); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, next(t, here).Seq)
	}

	gone, err := s.Delete(t.Context(), seqs[1])
	if err != nil {
		t.Fatal(err)
	}
	if gone.Seq != seqs[1] || gone.Note.GetMessage() != "spam" || gone.Author != mod ||
		gone.Note.GetLocation().GetLatitude() != 6 || gone.Note.GetLocation().GetLongitude() != 6 {
		t.Errorf("Delete returned %+v, want the spam note by %v", gone, mod)
	}
	ev := next(t, here)
	if ev.Deleted != seqs[1] || ev.Seq <= seqs[2] || ev.Note.GetLocation().GetLatitude() != 6 {
		t.Errorf("watcher of the area got %+v, want the deletion of %d after %d", ev, seqs[1], seqs[2])
	}
	if got, want := add(t, s, note(6, 6, "after")), []string{"keep", "keep too", "after"}; !cmp.Equal(got, want) {
		t.Errorf("after the delete, Add replies %q, want %q", got, want)
	}
	next(t, here) // "after"
	// The other watcher sees a note posted after the deletion, and nothing
	// before it: the deletion was not for it.
	add(t, s, note(1, 1, "elsewhere"))
	if got := next(t, elsewhere); got.Note.GetMessage() != "elsewhere" || got.Deleted != 0 {
		t.Errorf("watcher of another area got %+v first", got)
	}

	from := uint64(0)
	replay := watch(notes.WatchOptions{After: &from})
	var got []string
	for range 5 {
		ev := next(t, replay)
		if ev.Deleted != 0 {
			got = append(got, fmt.Sprintf("deleted %d", ev.Deleted))
			continue
		}
		got = append(got, ev.Note.GetMessage())
	}
	want := []string{"keep", "keep too", fmt.Sprintf("deleted %d", seqs[1]), "after", "elsewhere"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replay after the delete (-want +got):\n%s", diff)
	}
	if _, err := s.Delete(t.Context(), seqs[1]); !errors.Is(err, notes.ErrNotFound) {
		t.Errorf("deleting it again: %v, want ErrNotFound", err)
	}
}

func testDeleteUnknownIsNotFound(t *testing.T, open opener) {
	s := open(t, defaultSuiteLimits) // 3 per location
	// The first note's sequence comes from its Add, not from a feed: a
	// feed that reads it after the fourth has evicted it never sees it.
	first, err := s.Add(t.Context(), note(8, 8, "0"), notes.Author{})
	if err != nil {
		t.Fatal(err)
	}
	evicted := first[len(first)-1].Seq
	for i := 1; i < 4; i++ {
		add(t, s, note(8, 8, fmt.Sprint(i)))
	}
	for _, seq := range []uint64{evicted, 1000, 0} {
		if _, err := s.Delete(t.Context(), seq); !errors.Is(err, notes.ErrNotFound) {
			t.Errorf("Delete(%d) = %v, want ErrNotFound", seq, err)
		}
	}
}
