package main

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/routeguide/routeguide/server/geo"
)

// A nemesisHistory is what the nemesis mode's clients saw: the notes the cluster
// acknowledged, what each watcher was delivered, and how long each call
// took. checkHistory judges it.
type nemesisHistory struct {
	acked    []ackedNote
	watchers []watcherHistory
	calls    []callRecord
}

// ackedNote is a note the cluster acknowledged: PostNote returned OK, or
// RouteChat answered it.
type ackedNote struct {
	message  string
	location geo.Point
	by       string // the client that posted it, for the report
}

// watcherHistory is one watcher's feed, across every call it made.
type watcherHistory struct {
	name string
	// area limits the feed; nil means the whole world.
	area *geo.Bounds
	// deliveries are in the order they arrived, across resumes.
	deliveries []delivery
}

// delivery is one note of a feed.
type delivery struct {
	message  string
	location geo.Point
	seq      uint64
	// call counts the watcher's WatchNotes calls, from 0: deliveries of
	// one call are live or replayed on it, a new call is a resume.
	call int
}

// holds reports whether the watcher's area holds p.
func (w *watcherHistory) holds(p geo.Point) bool {
	return w.area == nil || w.area.Contains(p)
}

// callRecord is one call and how long it ran against the deadline it had.
type callRecord struct {
	procedure string
	by        string
	start     time.Duration // since the run began
	deadline  time.Duration
	elapsed   time.Duration
	// unfinished marks a call that had not returned when the run gave up
	// waiting for it; elapsed is how long it had run by then.
	unfinished bool
	// err is the error the call returned, if any.
	err string
}

// verdict is what checkHistory found. Every count but acknowledged and
// checked is a violation.
type verdict struct {
	acknowledged int // notes acknowledged
	checked      int // (acknowledged note, watcher whose area holds it) pairs
	lost         int // of those pairs, the note never reached the watcher
	duplicates   int // deliveries of a note the watcher already had
	outOfOrder   int // deliveries whose sequence is not above the one before
	misplaced    int // deliveries outside the watcher's area
	hung         int // calls that outlived their deadline by more than the margin
	// examples describe the first few violations of each kind.
	examples []string
}

func (v verdict) violations() int {
	return v.lost + v.duplicates + v.outOfOrder + v.misplaced + v.hung
}

// examplesPerKind is how many violations of each kind the verdict
// describes.
const examplesPerKind = 5

// checkHistory verifies that every acknowledged note reached every watcher
// whose area holds it exactly once, that each feed came in store order
// (sequence increasing) and kept to its area, and that no call outlived its
// deadline by more than margin. The run must keep the store from evicting
// anything: an acknowledged note missing from a feed is lost.
func checkHistory(h nemesisHistory, margin time.Duration) verdict {
	v := verdict{acknowledged: len(h.acked)}
	shown := map[string]int{}
	example := func(kind, format string, args ...any) {
		if shown[kind] < examplesPerKind {
			shown[kind]++
			v.examples = append(v.examples, kind+": "+fmt.Sprintf(format, args...))
		}
	}

	// seqOf is where some watcher saw each note, which places a lost one
	// in the store for the report.
	seqOf := map[string]uint64{}
	for _, w := range h.watchers {
		seen := make(map[string]uint64, len(w.deliveries))
		var last uint64
		for i, d := range w.deliveries {
			seqOf[d.message] = d.seq
			if first, dup := seen[d.message]; dup {
				v.duplicates++
				example("duplicate", "%s got %q again at sequence %d (first at %d)", w.name, d.message, d.seq, first)
				continue
			}
			seen[d.message] = d.seq
			if i > 0 && d.seq <= last {
				v.outOfOrder++
				example("out of order", "%s got sequence %d (%q) after %d", w.name, d.seq, d.message, last)
			}
			last = max(last, d.seq)
			if !w.holds(d.location) {
				v.misplaced++
				example("misplaced", "%s got %q at %v, outside its area %v", w.name, d.message, d.location, *w.area)
			}
		}
	}

	for _, w := range h.watchers {
		seen := make(map[string]bool, len(w.deliveries))
		for _, d := range w.deliveries {
			seen[d.message] = true
		}
		var lost []string
		for _, n := range h.acked {
			if !w.holds(n.location) {
				continue
			}
			v.checked++
			if !seen[n.message] {
				v.lost++
				lost = append(lost, n.message)
			}
		}
		bySeq := slices.Clone(w.deliveries)
		slices.SortFunc(bySeq, func(a, b delivery) int { return cmp.Compare(a.seq, b.seq) })
		for _, m := range lost[:min(len(lost), examplesPerKind)] {
			where := "seen by no watcher"
			if seq, ok := seqOf[m]; ok {
				where = fmt.Sprintf("sequence %d, seen by another watcher; %s", seq, gapAround(bySeq, seq))
			}
			example("lost", "%s never got acknowledged note %q (%s; %d lost by this watcher)", w.name, m, where, len(lost))
		}
	}

	for _, c := range h.calls {
		if c.elapsed > c.deadline+margin {
			v.hung++
			state := "returned"
			if c.unfinished {
				state = "still running"
			} else if c.err != "" {
				state = fmt.Sprintf("returned %q", c.err)
			}
			example("hung", "%s by %s at +%v: %s after %v, deadline %v",
				c.procedure, c.by, c.start.Round(time.Millisecond), state, c.elapsed.Round(time.Millisecond), c.deadline)
		}
	}
	slices.Sort(v.examples)
	return v
}

// gapAround says which of a watcher's deliveries, sorted by sequence,
// surround seq, and on which calls: a gap within one call is a live feed
// that skipped notes, one across calls a resume that did not replay them.
func gapAround(bySeq []delivery, seq uint64) string {
	i, _ := slices.BinarySearchFunc(bySeq, seq, func(d delivery, s uint64) int { return cmp.Compare(d.seq, s) })
	before, after := "the start", "the end"
	if i > 0 {
		before = fmt.Sprintf("sequence %d on call %d", bySeq[i-1].seq, bySeq[i-1].call)
	}
	if i < len(bySeq) {
		after = fmt.Sprintf("sequence %d on call %d", bySeq[i].seq, bySeq[i].call)
	}
	return "its feed went from " + before + " to " + after
}
