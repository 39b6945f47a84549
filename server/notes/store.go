package notes

import (
	"context"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// Store is where the notes of RouteChat and NotesService live. Every
// implementation passes the same behaviour suite.
type Store interface {
	// Add stores a copy of note at its location, and returns every note
	// stored there up to and including it, oldest first, in the one order
	// of the store. It returns only once the note is stored; an error
	// wrapping [ErrUnavailable] means the store could not be reached and
	// the note may or may not be stored.
	Add(ctx context.Context, note *routeguide.RouteNote) ([]*routeguide.RouteNote, error)
	// Watch follows the notes stored from the call on, each once, in store
	// order, after a replay of stored notes if opts ask for one. The caller
	// must close the watcher.
	Watch(ctx context.Context, opts WatchOptions) (*Watcher, error)
	// Stats describes the store.
	Stats(ctx context.Context) (Stats, error)
	// Available returns nil while the store can take notes, or an error
	// wrapping [ErrUnavailable] that says why not. It does not block.
	Available() error
	// Close releases the store and ends its watchers with [ErrClosed].
	Close() error
}

// Stats describes a store at one moment.
type Stats struct {
	// Notes is how many notes are stored.
	Notes int
	// Locations is how many locations have at least one note.
	Locations int
	// Bytes is what the notes cost, as the store counts it.
	Bytes int64
	// Evicted is how many notes the store dropped for newer ones, when it
	// counts them.
	Evicted uint64
}

var _ Store = (*JetStream)(nil)
