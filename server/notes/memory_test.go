package notes

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/limits"
)

func note(lat, lon int32, message string) *routeguide.RouteNote {
	return &routeguide.RouteNote{Location: &routeguide.Point{Latitude: lat, Longitude: lon}, Message: message}
}

// add adds note to s, which must not fail.
func add(t testing.TB, s Store, note *routeguide.RouteNote) []Note {
	t.Helper()
	replies, err := s.Add(t.Context(), note, Author{})
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return replies
}

func messages(notes []Note) []string {
	out := make([]string, len(notes))
	for i, n := range notes {
		out[i] = n.Note.GetMessage()
	}
	return out
}

func TestNoteStoreKeepsNewestAtALocation(t *testing.T) {
	t.Parallel()
	s := NewMemory(limits.Limits{MaxNotesPerLocation: 3, MaxStoredNoteBytes: 1 << 20})
	var got []string
	for i := range 5 {
		got = messages(add(t, s, note(1, 1, fmt.Sprint(i))))
	}
	if want := []string{"2", "3", "4"}; !slices.Equal(got, want) {
		t.Errorf("replies to the fifth note = %q, want the newest three %q", got, want)
	}
	if st := s.Stats(); st.Notes != 3 || st.Locations != 1 || st.Evicted != (Evicted{LocationFull: 2}) {
		t.Errorf("stats = %+v, want 3 notes at 1 location, 2 evicted for their location", st)
	}
}

func TestNoteStoreBoundsMemory(t *testing.T) {
	t.Parallel()
	const maxBytes = 100 * limits.NoteOverheadBytes
	s := NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: maxBytes})
	for i := range 1000 {
		add(t, s, note(int32(i), 0, ""))
		if st := s.Stats(); st.Bytes > maxBytes {
			t.Fatalf("after %d notes the store counts %d bytes, over its %d", i+1, st.Bytes, maxBytes)
		}
	}
	st := s.Stats()
	if st.Notes != 100 || st.Locations != 100 || st.Evicted != (Evicted{StoreFull: 900}) {
		t.Errorf("stats = %+v, want 100 notes at 100 locations, 900 evicted for the store", st)
	}
	// The oldest went first.
	if got := messages(add(t, s, note(0, 0, "new"))); !slices.Equal(got, []string{"new"}) {
		t.Errorf("the first location still holds %q", got)
	}
	if got := messages(add(t, s, note(999, 0, "new"))); !slices.Equal(got, []string{"", "new"}) {
		t.Errorf("the newest location holds %q, want its note and the new one", got)
	}
}

func TestNoteStoreQueueStaysProportional(t *testing.T) {
	t.Parallel()
	s := NewMemory(limits.Limits{MaxNotesPerLocation: 3, MaxStoredNoteBytes: 1 << 30})
	for i := range 100_000 {
		add(t, s, note(1, 1, fmt.Sprint(i)))
	}
	s.mu.Lock()
	queued := len(s.queue)
	s.mu.Unlock()
	if queued > 2*3+1024 {
		t.Errorf("the eviction queue holds %d entries for 3 notes", queued)
	}
}

// TestNoteStoreInvariants adds random notes and checks after each one that
// every location holds a contiguous run of its notes in arrival order, ending
// with the newest, and that the store stays within its bounds.
func TestNoteStoreInvariants(t *testing.T) {
	t.Parallel()
	const perLocation, maxBytes = 5, 40 * limits.NoteOverheadBytes
	rng := rand.New(rand.NewPCG(1, 2))
	s := NewMemory(limits.Limits{MaxNotesPerLocation: perLocation, MaxStoredNoteBytes: maxBytes})
	sent := map[int32][]string{} // every note sent, by latitude
	for i := range 20_000 {
		lat := int32(rng.IntN(30))
		msg := fmt.Sprintf("%d-%d", lat, i)
		sent[lat] = append(sent[lat], msg)
		got := messages(add(t, s, note(lat, 0, msg)))
		all := sent[lat]
		if len(got) == 0 || len(got) > perLocation || !slices.Equal(got, all[len(all)-len(got):]) {
			t.Fatalf("note %d: replies %q are not the newest run of %q", i, got, all)
		}
		if st := s.Stats(); st.Bytes > maxBytes {
			t.Fatalf("note %d: the store counts %d bytes, over its %d", i, st.Bytes, maxBytes)
		}
	}
}

// TestNoteStoreInvariantsWithDeletes adds and deletes random notes and
// checks after each step that every location holds its surviving notes in
// arrival order, that the counts agree with what is there, and that the
// eviction queue stays proportional.
func TestNoteStoreInvariantsWithDeletes(t *testing.T) {
	t.Parallel()
	const perLocation, maxBytes = 5, 40 * limits.NoteOverheadBytes
	rng := rand.New(rand.NewPCG(3, 4))
	s := NewMemory(limits.Limits{MaxNotesPerLocation: perLocation, MaxStoredNoteBytes: maxBytes})
	var seqs []uint64 // of notes added, some gone since
	for i := range 20_000 {
		if len(seqs) > 0 && rng.IntN(3) == 0 {
			seq := seqs[rng.IntN(len(seqs))]
			if _, err := s.Delete(t.Context(), seq); err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatalf("step %d: delete %d: %v", i, seq, err)
			}
			if _, err := s.Delete(t.Context(), seq); !errors.Is(err, ErrNotFound) {
				t.Fatalf("step %d: deleting %d twice: %v", i, seq, err)
			}
		} else {
			got := add(t, s, note(int32(rng.IntN(30)), 0, fmt.Sprint(i)))
			seqs = append(seqs, got[len(got)-1].Seq)
			for j := 1; j < len(got); j++ {
				if got[j-1].Seq >= got[j].Seq {
					t.Fatalf("step %d: replies out of order: %v", i, messages(got))
				}
			}
		}
		s.mu.Lock()
		notes, bytes := 0, int64(0)
		for _, loc := range s.byLocation {
			if len(loc.notes) == 0 || len(loc.notes) > perLocation {
				t.Fatalf("step %d: a location holds %d notes", i, len(loc.notes))
			}
			for _, n := range loc.notes {
				notes++
				bytes += Cost(n.note)
			}
		}
		ok := notes == s.notes && bytes == s.bytes && s.bytes <= maxBytes && len(s.queue) <= 2*s.notes+1024+1
		s.mu.Unlock()
		if !ok {
			t.Fatalf("step %d: %d notes of %d bytes stored, the store counts %d of %d (at most %d), queue %d",
				i, notes, bytes, s.notes, s.bytes, int64(maxBytes), len(s.queue))
		}
	}
}
