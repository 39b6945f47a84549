package notes

import (
	"context"
	"errors"
	"time"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// Store is where notes live. Every replica of a service that shares one
// Store sees the same notes in the same order. Every implementation passes
// the same behaviour suite, suite_test.go.
type Store interface {
	// Add stores a copy of note, whose location must be valid, posted by
	// author, and returns every note stored at that location up to and
	// including it, oldest first, in the one order of the store. It
	// returns only once the note is stored, and never waits for the
	// store's watchers: a note it returns without an error survives what
	// the Store promises to survive. An error wrapping [ErrUnavailable]
	// means the store could not be reached, and the note may or may not
	// be stored.
	Add(ctx context.Context, note *routeguide.RouteNote, author Author) ([]Note, error)
	// Delete removes the note with sequence seq from the store, from the
	// answers of Add at its location and from replays, and tells every
	// watcher of every replica that it is gone. It returns the note as it
	// was, for the audit log, or an error wrapping [ErrNotFound] when no
	// note has that sequence (any more).
	Delete(ctx context.Context, seq uint64) (Note, error)
	// Epoch names the life of the store: it changes when the store
	// begins again and its sequences start over, as a memory store does
	// with its process or a stream deleted and created again. It does
	// not block.
	Epoch() string
	// Watch follows the notes stored from the call on, through any replica,
	// each once, in store order, after a replay of stored notes if opts ask
	// for one. The caller must close the watcher.
	Watch(ctx context.Context, opts WatchOptions) (*Watcher, error)
	// Stats describes the store at one moment. It does not block for long:
	// a store that must ask elsewhere gives what it last knew.
	Stats() Stats
	// Available returns nil while the store can take notes, or an error
	// wrapping [ErrUnavailable] that says why not. It does not block.
	Available() error
	// Close releases the store and ends its watchers with [ErrClosed].
	Close() error
}

// Note is a stored note and what the store knows of it.
type Note struct {
	// Seq is the note's position in the store, the same on every replica
	// that shares it; it only grows.
	Seq uint64
	// Time is when the store accepted the note.
	Time time.Time
	// Note is the note as stored. It is shared: never modify it.
	Note *routeguide.RouteNote
	// Author is who posted it.
	Author Author
}

// ErrNotFound is wrapped by the error of a [Store.Delete] of a sequence
// that holds no note: never stored, evicted, or deleted already.
var ErrNotFound = errors.New("no such note")

// Stats describes a Store at one moment.
type Stats struct {
	Notes, Locations int
	Bytes            int64 // the notes' cost, by [Cost] in memory, as JetStream counts it there
	Evicted          Evicted
	// Skipped counts the messages this replica's feed found in the store
	// that are not notes it can read (a foreign subject, text that is not
	// UTF-8, bad headers), and skipped, since it started. A memory store
	// holds none.
	Skipped uint64
}

// Evicted counts the notes a Store dropped to make room for newer ones since
// it started, by reason. The JetStream store does not count them: the
// stream discards them itself.
type Evicted struct {
	// LocationFull counts notes dropped because their location held
	// MaxNotesPerLocation newer ones.
	LocationFull uint64
	// StoreFull counts notes dropped because the store held MaxStoredNoteBytes.
	StoreFull uint64
}

var (
	_ Store = (*Memory)(nil)
	_ Store = (*JetStream)(nil)
)
