// Package notes keeps the notes that RouteChat clients leave at locations,
// behind a Store that the service talks to, so that the notes can live in
// this process or be shared between replicas.
package notes

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/geo"
	"github.com/routeguide/routeguide/server/limits"
)

// Memory is a Store that keeps the notes sent by every client of the
// process in its memory, grouped by location in the order they arrived. Its memory is
// bounded: a location keeps its newest maxPerLocation notes, and once the
// notes of all locations together cost more than maxBytes, the oldest notes
// anywhere are evicted first. Each location's notes are always a contiguous
// run of the order in which that location's notes arrived.
type Memory struct {
	maxPerLocation int
	maxBytes       int64
	maxDeletions   int    // deletion events kept for replays
	epoch          string // random, so that a new process is a new life

	mu         sync.Mutex // protects the fields below
	byLocation map[geo.Point]*locationNotes
	// queue holds every stored note in arrival order, oldest first, for
	// eviction. Notes a location dropped on its own stay in it until they
	// reach the front or the queue is compacted.
	queue   []queuedNote
	nextSeq uint64
	notes   int   // notes stored
	bytes   int64 // their cost
	evicted Evicted
	closed  bool
	// deletions are the newest deletion events, oldest first, for
	// replays.
	deletions []Event

	// feed carries each note to the watchers as it is stored; Add
	// publishes under mu, so in sequence order.
	feed *feed
}

// locationNotes are one location's notes, oldest first.
type locationNotes struct {
	notes []storedNote
}

type storedNote struct {
	seq    uint64
	time   time.Time // when it was stored
	note   *routeguide.RouteNote
	author Author
}

func (n storedNote) public() Note {
	return Note{Seq: n.seq, Time: n.time, Note: n.note, Author: n.author}
}

type queuedNote struct {
	at  geo.Point
	seq uint64
}

// NewMemory returns an empty store that keeps at most
// l.MaxNotesPerLocation notes at a location and l.MaxStoredNoteBytes in
// all, counting each note by [Cost], with l's WatchBuffer and MaxReplay for
// its watchers; zero fields take their defaults.
func NewMemory(l limits.Limits) *Memory {
	l = l.WithDefaults()
	return &Memory{
		maxPerLocation: l.MaxNotesPerLocation,
		maxBytes:       l.MaxStoredNoteBytes,
		maxDeletions:   l.MaxReplay,
		epoch:          "m" + rand.Text()[:16],
		byLocation:     make(map[geo.Point]*locationNotes),
		feed:           newFeed(l.WatchBuffer, l.MaxReplay),
	}
}

// Epoch implements [Store]: a memory store begins with its process.
func (s *Memory) Epoch() string {
	return s.epoch
}

// Cost is what a store counts for note against its byte limit.
func Cost(note *routeguide.RouteNote) int64 {
	return int64(len(note.GetMessage())) + limits.NoteOverheadBytes
}

// Add implements [Store]. It fails only once the store is closed, or for
// an author ID that is not one. The returned slice belongs to the caller,
// so it can be sent without holding the lock; the notes in it are never
// modified.
func (s *Memory) Add(_ context.Context, note *routeguide.RouteNote, author Author) ([]Note, error) {
	author, err := author.checked()
	if err != nil {
		return nil, fmt.Errorf("store note: %w", err)
	}
	// Store only the fields we know, so unknown fields a client adds do not
	// take up memory or reach other clients.
	stored := &routeguide.RouteNote{
		Location: &routeguide.Point{
			Latitude:  note.GetLocation().GetLatitude(),
			Longitude: note.GetLocation().GetLongitude(),
		},
		Message: note.GetMessage(),
	}
	key := geo.PointOf(stored.Location)

	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	loc := s.byLocation[key]
	if loc == nil {
		loc = &locationNotes{}
		s.byLocation[key] = loc
	}
	s.nextSeq++
	sn := storedNote{seq: s.nextSeq, time: now, note: stored, author: author}
	loc.notes = append(loc.notes, sn)
	s.feed.publish(newEvent(sn.public(), 0))
	s.queue = append(s.queue, queuedNote{at: key, seq: s.nextSeq})
	s.notes++
	s.bytes += Cost(stored)

	if len(loc.notes) > s.maxPerLocation {
		s.dropOldest(key, loc)
		s.evicted.LocationFull++
	}
	for s.bytes > s.maxBytes && s.notes > 1 {
		s.evictOldest()
		s.evicted.StoreFull++
	}
	if len(s.queue) > 2*s.notes+1024 {
		s.compactQueue()
	}

	replies := make([]Note, len(loc.notes))
	for i, n := range loc.notes {
		replies[i] = n.public()
	}
	return replies, nil
}

// Delete implements [Store].
func (s *Memory) Delete(_ context.Context, seq uint64) (Note, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Note{}, ErrClosed
	}
	i, ok := slices.BinarySearchFunc(s.queue, seq, func(q queuedNote, seq uint64) int { return cmp.Compare(q.seq, seq) })
	var gone storedNote
	if ok {
		gone, ok = s.find(s.queue[i])
	}
	if !ok {
		return Note{}, fmt.Errorf("%w with sequence %d", ErrNotFound, seq)
	}
	key := s.queue[i].at
	loc := s.byLocation[key]
	loc.notes = slices.DeleteFunc(loc.notes, func(n storedNote) bool { return n.seq == seq })
	if len(loc.notes) == 0 {
		delete(s.byLocation, key)
	}
	// Its queue entry stays until eviction or compaction finds its note
	// gone.
	s.notes--
	s.bytes -= Cost(gone.note)

	s.nextSeq++
	ev := newEvent(Note{Seq: s.nextSeq, Time: time.Now(), Note: &routeguide.RouteNote{Location: gone.note.GetLocation()}}, seq)
	s.deletions = append(s.deletions, ev)
	if len(s.deletions) > s.maxDeletions {
		s.deletions[0] = Event{}
		s.deletions = s.deletions[1:]
	}
	s.feed.publish(ev)
	return gone.public(), nil
}

// dropOldest removes the oldest note of the location at key.
func (s *Memory) dropOldest(key geo.Point, loc *locationNotes) {
	s.bytes -= Cost(loc.notes[0].note)
	s.notes--
	loc.notes[0] = storedNote{} // let the note be collected
	loc.notes = loc.notes[1:]
	if len(loc.notes) == 0 {
		delete(s.byLocation, key)
	}
}

// evictOldest removes the oldest note in the store.
func (s *Memory) evictOldest() {
	for len(s.queue) > 0 {
		oldest := s.queue[0]
		s.queue[0] = queuedNote{}
		s.queue = s.queue[1:]
		if loc := s.byLocation[oldest.at]; loc != nil && loc.notes[0].seq == oldest.seq {
			s.dropOldest(oldest.at, loc)
			return
		}
		// Its location dropped it already.
	}
}

// compactQueue forgets the queued notes that their locations dropped or
// that were deleted, so the queue stays proportional to the notes stored.
func (s *Memory) compactQueue() {
	s.queue = slices.DeleteFunc(slices.Clone(s.queue), func(q queuedNote) bool {
		_, ok := s.find(q)
		return !ok
	})
}

// find returns the stored note q stands for, if it is still stored.
func (s *Memory) find(q queuedNote) (storedNote, bool) {
	loc := s.byLocation[q.at]
	if loc == nil {
		return storedNote{}, false
	}
	i, ok := slices.BinarySearchFunc(loc.notes, q.seq, func(n storedNote, seq uint64) int { return cmp.Compare(n.seq, seq) })
	if !ok {
		return storedNote{}, false
	}
	return loc.notes[i], true
}

// Stats implements [Store].
func (s *Memory) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Notes: s.notes, Locations: len(s.byLocation), Bytes: s.bytes, Evicted: s.evicted}
}
