package notes

import (
	"context"
	"sort"
)

// Watch implements [Store]. Notes reach watchers as Add stores them.
func (s *Memory) Watch(ctx context.Context, opts WatchOptions) (*Watcher, error) {
	return s.feed.watch(ctx, opts, s.newest, s.replay)
}

// newest returns the sequence of the last note stored.
func (s *Memory) newest(context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextSeq, nil
}

// replay returns the stored notes with sequence in (from, to], oldest first.
func (s *Memory) replay(_ context.Context, from, to uint64) ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var events []Event
	// The queue is in sequence order, with notes their locations dropped
	// among the stored ones; look each up in its location.
	start := sort.Search(len(s.queue), func(i int) bool { return s.queue[i].seq > from })
	for _, q := range s.queue[start:] {
		if q.seq > to {
			break
		}
		loc := s.byLocation[q.at]
		if loc == nil {
			continue
		}
		i := sort.Search(len(loc.notes), func(i int) bool { return loc.notes[i].seq >= q.seq })
		if i < len(loc.notes) && loc.notes[i].seq == q.seq {
			n := loc.notes[i]
			events = append(events, Event{Seq: n.seq, Time: n.time, Note: n.note})
		}
	}
	return events, nil
}

// Available implements [Store]: memory is always there until closed.
func (s *Memory) Available() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// Close implements [Store]: it ends every watcher and refuses new notes.
// The notes stored stay readable by nobody.
func (s *Memory) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.feed.close(ErrClosed)
	return nil
}
