package server

import (
	"slices"
	"sync"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// noteStore keeps the notes sent to RouteChat by every client of the
// process, grouped by location in the order they arrived.
type noteStore struct {
	mu         sync.Mutex // protects byLocation
	byLocation map[point][]*routeguide.RouteNote
	metrics    *serviceMetrics // told of notes rejected or evicted; nil records nothing
}

func newNoteStore() *noteStore {
	return &noteStore{byLocation: make(map[point][]*routeguide.RouteNote)}
}

// add appends a copy of note at its location and returns every note there so
// far, the new one last. The returned slice belongs to the caller, so it can
// be sent without holding the lock; the notes in it are never modified.
func (s *noteStore) add(note *routeguide.RouteNote) []*routeguide.RouteNote {
	// Store only the fields we know, so unknown fields a client adds do not
	// take up memory or reach other clients.
	stored := &routeguide.RouteNote{
		Location: &routeguide.Point{
			Latitude:  note.GetLocation().GetLatitude(),
			Longitude: note.GetLocation().GetLongitude(),
		},
		Message: note.GetMessage(),
	}
	key := pointOf(stored.Location)

	s.mu.Lock()
	defer s.mu.Unlock()
	notes := append(s.byLocation[key], stored)
	s.byLocation[key] = notes
	return slices.Clone(notes)
}
