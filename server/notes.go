package server

import (
	"slices"
	"sync"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// noteOverheadBytes is what the store counts for each note on top of its
// text: the messages, the slot in its location and in the eviction queue, and
// a share of the map, as measured with 1,000,000 one-note locations.
const noteOverheadBytes = 256

// noteStore keeps the notes sent to RouteChat by every client of the
// process, grouped by location in the order they arrived. Its memory is
// bounded: a location keeps its newest maxPerLocation notes, and once the
// notes of all locations together cost more than maxBytes, the oldest notes
// anywhere are evicted first. Each location's notes are always a contiguous
// run of the order in which that location's notes arrived.
type noteStore struct {
	maxPerLocation int
	maxBytes       int64

	mu         sync.Mutex // protects the fields below
	byLocation map[point]*locationNotes
	// queue holds every stored note in arrival order, oldest first, for
	// eviction. Notes a location dropped on its own stay in it until they
	// reach the front or the queue is compacted.
	queue   []queuedNote
	nextSeq uint64
	notes   int   // notes stored
	bytes   int64 // their cost
	evicted uint64

	metrics *serviceMetrics // told of notes evicted; nil records nothing
}

// locationNotes are one location's notes, oldest first.
type locationNotes struct {
	notes []storedNote
}

type storedNote struct {
	seq  uint64
	note *routeguide.RouteNote
}

type queuedNote struct {
	at  point
	seq uint64
}

func newNoteStore(maxPerLocation int, maxBytes int64) *noteStore {
	return &noteStore{
		maxPerLocation: maxPerLocation,
		maxBytes:       maxBytes,
		byLocation:     make(map[point]*locationNotes),
	}
}

func noteCost(n *routeguide.RouteNote) int64 {
	return int64(len(n.GetMessage())) + noteOverheadBytes
}

// add appends a copy of note at its location and returns every note there
// so far, the new one last. The returned slice belongs to the caller, so it
// can be sent without holding the lock; the notes in it are never modified.
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
	loc := s.byLocation[key]
	if loc == nil {
		loc = &locationNotes{}
		s.byLocation[key] = loc
	}
	s.nextSeq++
	loc.notes = append(loc.notes, storedNote{seq: s.nextSeq, note: stored})
	s.queue = append(s.queue, queuedNote{at: key, seq: s.nextSeq})
	s.notes++
	s.bytes += noteCost(stored)

	if len(loc.notes) > s.maxPerLocation {
		s.dropOldest(key, loc)
		s.metrics.notesEvicted("location_full", 1)
	}
	for s.bytes > s.maxBytes && s.notes > 1 {
		s.evictOldest()
		s.metrics.notesEvicted("store_full", 1)
	}
	if len(s.queue) > 2*s.notes+1024 {
		s.compactQueue()
	}

	replies := make([]*routeguide.RouteNote, len(loc.notes))
	for i, n := range loc.notes {
		replies[i] = n.note
	}
	return replies
}

// dropOldest removes the oldest note of the location at key.
func (s *noteStore) dropOldest(key point, loc *locationNotes) {
	s.bytes -= noteCost(loc.notes[0].note)
	s.notes--
	s.evicted++
	loc.notes[0] = storedNote{} // let the note be collected
	loc.notes = loc.notes[1:]
	if len(loc.notes) == 0 {
		delete(s.byLocation, key)
	}
}

// evictOldest removes the oldest note in the store.
func (s *noteStore) evictOldest() {
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

// compactQueue forgets the queued notes that their locations dropped, so
// the queue stays proportional to the notes stored.
func (s *noteStore) compactQueue() {
	s.queue = slices.DeleteFunc(slices.Clone(s.queue), func(q queuedNote) bool {
		loc := s.byLocation[q.at]
		return loc == nil || q.seq < loc.notes[0].seq
	})
}

// noteStats describes the store at one moment.
type noteStats struct {
	notes, locations int
	bytes            int64
	evicted          uint64
}

func (s *noteStore) stats() noteStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return noteStats{notes: s.notes, locations: len(s.byLocation), bytes: s.bytes, evicted: s.evicted}
}
