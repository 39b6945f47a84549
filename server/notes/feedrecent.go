package notes

import "sort"

// recentEvents are the last events a feed accepted, kept so that a replay
// of them needs no trip to where the notes live: a JetStream store's
// watchers replay from them, reading the stream only for what is older.
// Every one of those watchers would otherwise read and decode its own copy
// of each message (BENCHMARKS.md, "JetStream mode and 10,000 watchers"),
// and every client of a restarted or failed replica resumes at once on the
// others. They hold what a live watcher was sent, with one difference: a
// deleted note is dropped, its deletion kept, so that no replay shows a
// note a moderator removed. Its fields are guarded by the feed's queueMu.
type recentEvents struct {
	keep   int     // how many to keep, at least; 0 keeps none
	events []Event // in sequence order
	// from is the sequence before which events is not complete: it holds
	// every event the feed accepted with a sequence in (from, accepted].
	from uint64
}

// add keeps ev, the feed's newest event, dropping the oldest past keep.
func (r *recentEvents) add(ev Event) {
	if r.keep == 0 || ev.noop {
		return
	}
	if ev.Deleted != 0 {
		if i := r.find(ev.Deleted); i < len(r.events) && r.events[i].Seq == ev.Deleted {
			r.events = append(r.events[:i], r.events[i+1:]...)
		}
	}
	r.events = append(r.events, ev)
	// Trimming to keep once twice as many are held copies the kept
	// ones once per keep events added, not once per event.
	if len(r.events) >= 2*r.keep {
		drop := len(r.events) - r.keep
		r.from = r.events[drop-1].Seq
		r.events = append([]Event(nil), r.events[drop:]...)
	}
}

// restart forgets every event: the feed goes on after seq, what came
// before it unknown (a store that began again, a gap it could not fill).
func (r *recentEvents) restart(seq uint64) {
	r.events, r.from = nil, seq
}

// find returns the index of the first event with a sequence of seq or more.
func (r *recentEvents) find(seq uint64) int {
	return sort.Search(len(r.events), func(i int) bool { return r.events[i].Seq >= seq })
}

// read returns, as a store's replay does, at most limit events with
// sequence in (from, to] and the sequence up to which it read, or ok false
// if it does not hold them all. The events are copies that cache nothing:
// a replayed event reaches one watcher.
func (r *recentEvents) read(from, to uint64, limit int) (events []Event, upTo uint64, ok bool) {
	if r.keep == 0 || from < r.from {
		return nil, 0, false
	}
	limit = max(limit, 1) // a page that took nothing would read nothing
	i := r.find(from + 1)
	for ; i < len(r.events) && r.events[i].Seq <= to && len(events) < limit; i++ {
		ev := r.events[i]
		ev.cache = nil
		events = append(events, ev)
	}
	if i < len(r.events) && r.events[i].Seq <= to {
		return events, events[len(events)-1].Seq, true // limit reached
	}
	return events, to, true
}

// replayRecent answers a replay of (from, to] from the feed's recent
// events, if it holds them all.
func (f *feed) replayRecent(from, to uint64, limit int) ([]Event, uint64, bool) {
	f.queueMu.Lock()
	defer f.queueMu.Unlock()
	if to > f.accepted {
		return nil, 0, false // they hold nothing past what the feed accepted
	}
	return f.recent.read(from, to, limit)
}

// forgetRecent forgets the recent events, for a feed that goes on after
// seq without the events before it.
func (f *feed) forgetRecent(seq uint64) {
	f.queueMu.Lock()
	defer f.queueMu.Unlock()
	f.recent.restart(seq)
}
