package server

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/routeguide/routeguide/gen/routeguide"
)

func note(lat, lon int32, message string) *routeguide.RouteNote {
	return &routeguide.RouteNote{Location: &routeguide.Point{Latitude: lat, Longitude: lon}, Message: message}
}

func messages(notes []*routeguide.RouteNote) []string {
	out := make([]string, len(notes))
	for i, n := range notes {
		out[i] = n.GetMessage()
	}
	return out
}

func TestNoteStoreKeepsNewestAtALocation(t *testing.T) {
	t.Parallel()
	s := newNoteStore(3, 1<<20)
	var got []string
	for i := range 5 {
		got = messages(s.add(note(1, 1, fmt.Sprint(i))))
	}
	if want := []string{"2", "3", "4"}; !slices.Equal(got, want) {
		t.Errorf("replies to the fifth note = %q, want the newest three %q", got, want)
	}
	if st := s.stats(); st.notes != 3 || st.locations != 1 || st.evicted != 2 {
		t.Errorf("stats = %+v, want 3 notes at 1 location, 2 evicted", st)
	}
}

func TestNoteStoreBoundsMemory(t *testing.T) {
	t.Parallel()
	const maxBytes = 100 * noteOverheadBytes
	s := newNoteStore(10, maxBytes)
	for i := range 1000 {
		s.add(note(int32(i), 0, ""))
		if st := s.stats(); st.bytes > maxBytes {
			t.Fatalf("after %d notes the store counts %d bytes, over its %d", i+1, st.bytes, maxBytes)
		}
	}
	st := s.stats()
	if st.notes != 100 || st.locations != 100 || st.evicted != 900 {
		t.Errorf("stats = %+v, want 100 notes at 100 locations, 900 evicted", st)
	}
	// The oldest went first.
	if got := messages(s.add(note(0, 0, "new"))); !slices.Equal(got, []string{"new"}) {
		t.Errorf("the first location still holds %q", got)
	}
	if got := messages(s.add(note(999, 0, "new"))); !slices.Equal(got, []string{"", "new"}) {
		t.Errorf("the newest location holds %q, want its note and the new one", got)
	}
}

func TestNoteStoreQueueStaysProportional(t *testing.T) {
	t.Parallel()
	s := newNoteStore(3, 1<<30)
	for i := range 100_000 {
		s.add(note(1, 1, fmt.Sprint(i)))
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
	const perLocation, maxBytes = 5, 40 * noteOverheadBytes
	rng := rand.New(rand.NewPCG(1, 2))
	s := newNoteStore(perLocation, maxBytes)
	sent := map[int32][]string{} // every note sent, by latitude
	for i := range 20_000 {
		lat := int32(rng.IntN(30))
		msg := fmt.Sprintf("%d-%d", lat, i)
		sent[lat] = append(sent[lat], msg)
		got := messages(s.add(note(lat, 0, msg)))
		all := sent[lat]
		if len(got) == 0 || len(got) > perLocation || !slices.Equal(got, all[len(all)-len(got):]) {
			t.Fatalf("note %d: replies %q are not the newest run of %q", i, got, all)
		}
		if st := s.stats(); st.bytes > maxBytes {
			t.Fatalf("note %d: the store counts %d bytes, over its %d", i, st.bytes, maxBytes)
		}
	}
}
