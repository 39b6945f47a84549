package notes

import (
	"context"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// Store is where notes live. Every replica of a service that shares one
// Store sees the same notes in the same order.
type Store interface {
	// Add stores a copy of note, whose location must be valid, and returns
	// every note stored at that location up to and including it, oldest
	// first. It returns only once the note is stored: a note it returns
	// without an error survives what the Store promises to survive.
	Add(ctx context.Context, note *routeguide.RouteNote) ([]*routeguide.RouteNote, error)
	// Stats describes the store at one moment.
	Stats() Stats
}

// Limits bound what a Store keeps.
type Limits struct {
	// MaxPerLocation is how many notes a location keeps; the oldest are
	// evicted first.
	MaxPerLocation int
	// MaxBytes bounds all notes together, each counted by [Cost]; past it
	// the oldest notes anywhere are evicted first.
	MaxBytes int64
}

// Stats describes a Store at one moment.
type Stats struct {
	Notes, Locations int
	Bytes            int64 // the notes' cost, by [Cost]
	Evicted          Evicted
}

// Evicted counts the notes a Store dropped to make room for newer ones since
// it started, by reason.
type Evicted struct {
	// LocationFull counts notes dropped because their location held
	// MaxPerLocation newer ones.
	LocationFull uint64
	// StoreFull counts notes dropped because the store held MaxBytes.
	StoreFull uint64
}

// Total is the number of notes evicted for any reason.
func (e Evicted) Total() uint64 {
	return e.LocationFull + e.StoreFull
}
