package notes

import (
	"context"
	"sort"
)

// Watch implements [Store]. Notes reach watchers as Add stores them.
func (s *Memory) Watch(ctx context.Context, opts WatchOptions) (*Watcher, error) {
	return s.feed.watch(ctx, opts, s.epoch, s.newest, s.replay)
}

// newest returns the sequence of the last note stored.
func (s *Memory) newest(context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextSeq, nil
}

// replay returns at most limit of the stored events with sequence in
// (from, to], oldest first: notes, and the deletions it still remembers.
func (s *Memory) replay(_ context.Context, from, to uint64, limit int) ([]Event, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	events := make([]Event, 0, limit)
	// The queue is in sequence order, with notes their locations dropped
	// among the stored ones; look each up in its location. The deletions
	// are in sequence order too: merge the two.
	qi := sort.Search(len(s.queue), func(i int) bool { return s.queue[i].seq > from })
	di := sort.Search(len(s.deletions), func(i int) bool { return s.deletions[i].Seq > from })
	upTo := from
	for len(events) < limit {
		var q *queuedNote
		if qi < len(s.queue) && s.queue[qi].seq <= to {
			q = &s.queue[qi]
		}
		var d *Event
		if di < len(s.deletions) && s.deletions[di].Seq <= to {
			d = &s.deletions[di]
		}
		switch {
		case q == nil && d == nil:
			return events, to, nil
		case d != nil && (q == nil || d.Seq < q.seq):
			events = append(events, *d)
			upTo = d.Seq
			di++
		default:
			if n, ok := s.find(*q); ok {
				// No cache: a replayed event reaches one watcher.
				events = append(events, Event{Seq: n.seq, Time: n.time, Note: n.note, Author: n.author})
			}
			upTo = q.seq
			qi++
		}
	}
	return events, upTo, nil
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
