package notes

import (
	"slices"
	"sync/atomic"

	"github.com/routeguide/routeguide/internal/sched"
)

// liveLog is what a feed has delivered lately, as of one delivery: the
// newest events and the channels that wake the watchers waiting for the
// next. Once published it never changes, so that the thousand watchers one
// delivery wakes read it at once without a lock, each from its own
// position, where a queue per watcher took a lock and a channel send per
// watcher and event (BENCHMARKS.md, "Watchers and fan-out: round five").
// The next delivery publishes another, which may share the array of
// events: it only appends past every published length.
type liveLog struct {
	events []Event // oldest first; the last has position end-1
	// end is the position after the last event: how many events the feed
	// delivered before, in this process. A watcher's position says which
	// it reads next.
	end uint64
	// wake has a slot for each wake group of the feed: a group made after
	// the log was published has one in a copy published with room for it
	// (see withRoom), whose first slots are the log's own.
	wake []*wakeSlot
}

// start returns the position of the oldest event the log holds.
func (l *liveLog) start() uint64 {
	return l.end - uint64(len(l.events))
}

// at returns the event at position pos, which must be in the log.
func (l *liveLog) at(pos uint64) Event {
	return l.events[pos-l.start()]
}

// next returns the log after l with events appended, all of them, and at
// least the last keep events before them: a watcher keep events behind
// still finds what it has not read. Trimming to keep once twice as many
// are held copies the kept ones once per keep events delivered, not once
// per delivery.
func (l *liveLog) next(events []Event, keep, groups int) *liveLog {
	kept := l.events
	if len(kept)+len(events) > 2*keep {
		kept = append([]Event(nil), kept[len(kept)-min(keep, len(kept)):]...)
	}
	return &liveLog{events: append(kept, events...), end: l.end + uint64(len(events)), wake: newWakeSlots(groups)}
}

// newWakeSlots returns the wake slots of a log published when the feed had
// groups wake groups: one for each, and at least one for each small group
// and one more, so that a feed's first watchers do not each publish the
// log again (see withRoom).
func newWakeSlots(groups int) []*wakeSlot {
	return appendSlots(nil, max(groups, fanOutYields+1))
}

// appendSlots appends n new wake slots to wake, made in one allocation.
func appendSlots(wake []*wakeSlot, n int) []*wakeSlot {
	slots := make([]wakeSlot, n)
	wake = slices.Grow(wake, n)
	for i := range slots {
		wake = append(wake, &slots[i])
	}
	return wake
}

// withRoom returns l published again with room for groups wake groups:
// the same events, and l's slots first, so that the watchers waiting in
// them are woken with the copy's. Without it, the watchers of groups made
// since l was published would share its last slot, and a crowd that came
// between two deliveries, as a replica's clients reconnecting after it
// restarted, would wake all at once, outside the waves: with 10,000 of
// them, net/http's connections sent nothing of that delivery for 200-400
// ms, each connection's flush waiting behind every watcher woken
// (BENCHMARKS.md, "Watchers and fan-out: round eleven").
func (l *liveLog) withRoom(groups int) *liveLog {
	wake := appendSlots(slices.Clip(l.wake), groups-len(l.wake))
	return &liveLog{events: l.events, end: l.end, wake: wake}
}

// slot returns the slot that the watchers of wake group g wait in. Every
// group has its own (see withRoom); the last is a watcher's only if it is
// cut off, its group let go, and it has yet to see why.
func (l *liveLog) slot(g int) *wakeSlot {
	return l.wake[min(g, len(l.wake)-1)]
}

// Watchers wait in wake groups, woken by a delivery one group after the
// other. The first fanOutYields groups hold up to fanOutWave watchers each
// and the delivery steps aside after each of them; the others hold up to
// cutWave each, and the delivery steps aside after every restWave
// watchers of them. Go's scheduler runs a goroutine just woken next, and
// queues the one that was to run next behind all the others: a note that
// woke its thousand watchers at once queued its poster's handler, which
// net/http readies three times to write one answer (headers, message,
// trailers), behind the whole fan-out each time, about 15 ms on one core
// (BENCHMARKS.md, "Watchers and fan-out: round three"). Stepping aside
// ([sched.StepAside]), the delivery waits while what is ready runs, so the
// poster waits for a wave, about 16 × 15 µs, at each step.
// After fanOutYields waves the poster has been answered (a trace shows its
// trailers written within two). Stepping aside after every small wave all
// the way split the watchers' writes into small batches and let the
// delivery fall behind on a busy CPU (note-to-watcher delay p99 0.5–1.4 s
// against 0.1–0.2 s at 1,000 watchers), so the rest go in waves of
// restWave, about 2 ms of deliveries: a call arriving during a long
// fan-out (10,000 watchers of one note, 150 ms on one core) waits for a
// wave rather than the whole of it (GetFeature p99 131–150 ms at 10,000
// watchers, 25 with waves of 128, 31–42 with waves of 256), and no longer
// for the network to be polled: the delivery steps aside until it has been
// (p99 7.3–7.6 ms at 10,000; "round twelve"). 4 small waves rather than 8 cost 2.5% less
// CPU with the same PostNote p50 (BENCHMARKS.md, "Watchers and fan-out:
// round four"; restWave: "round nine").
//
// A watcher cut off while it waits, as at its call's deadline, is woken
// with its whole group: a watcher waits on its group's channel alone, not
// also on one of its own, since a third case in its select costs every
// delivery more than the rare cut does (BENCHMARKS.md, "Watchers and
// fan-out: round six"). cutWave bounds what a cut costs the others: at
// most cutWave-1 of them wake, find nothing and wait again, about 1.5 µs
// each.
const (
	fanOutWave   = 16
	fanOutYields = 4
	cutWave      = 32
	restWave     = 128
)

// groupSize returns how many watchers wake group g holds at most.
func groupSize(g int) int {
	if g < fanOutYields {
		return fanOutWave
	}
	return cutWave
}

// wakeSlot holds the channel that a group of watchers waits on for the
// log after the one they read. The first of them to wait makes it, so a
// delivery that no one waits for, as with no watchers, makes none.
type wakeSlot struct {
	ch atomic.Pointer[wakeChan]
}

type wakeChan struct{ c chan struct{} }

// woken stands in a slot once its delivery has come: it is closed.
var woken = func() *wakeChan {
	w := &wakeChan{c: make(chan struct{})}
	close(w.c)
	return w
}()

// wait returns the channel closed when the next log is published.
func (s *wakeSlot) wait() <-chan struct{} {
	if w := s.ch.Load(); w != nil {
		return w.c
	}
	w := &wakeChan{c: make(chan struct{})}
	if s.ch.CompareAndSwap(nil, w) {
		return w.c
	}
	return s.ch.Load().c // made by another watcher, or woken already
}

// wakeUp wakes the watchers waiting in the slot, once the next log is
// published, and reports whether any was. From then on, the slot's
// channel stays closed.
func (s *wakeSlot) wakeUp() bool {
	w := s.ch.Swap(woken)
	if w == nil || w == woken {
		return false
	}
	close(w.c)
	return true
}

// rouse wakes the watchers waiting in the slot, and lets those that wait
// in it later wait on a new channel, unless the next log is published and
// the slot's channel stays closed: a watcher cut off then sees why.
func (s *wakeSlot) rouse() {
	for {
		w := s.ch.Load()
		if w == nil || w == woken {
			return
		}
		if s.ch.CompareAndSwap(w, nil) {
			close(w.c)
			return
		}
	}
}

// waves paces a delivery's wake-ups: it steps aside after each of the
// first fanOutYields waves of fanOutWave watchers, then after each of
// restWave (see fanOutWave).
type waves struct {
	steps int // how many times the delivery stepped aside
	woken int // watchers woken since it last did
}

// woke counts n more watchers woken, and steps aside once a wave is.
func (w *waves) woke(n int) {
	w.woken += n
	wave := restWave
	if w.steps < fanOutYields {
		wave = fanOutWave
	}
	if w.woken >= wave {
		sched.StepAside()
		w.steps++
		w.woken = 0
	}
}

// wakeAll wakes the watchers of l, l's successor being published, group
// after group, in waves, counting the watchers of each group that had any
// waiting as sizes has them: a group kept for a connection may hold a
// few (see wakeGroups).
func (l *liveLog) wakeAll(w *waves, sizes []int) {
	for g, slot := range l.wake {
		if !slot.wakeUp() {
			continue
		}
		n := 1 // one at least: the watcher that made the channel
		if g < len(sizes) {
			n = max(sizes[g], 1)
		}
		w.woke(n)
	}
}

// wakeAreas wakes the watchers of an area a delivery holds notes for, in
// the waves that wakeAll began.
func wakeAreas(woken []areaHit, w *waves) {
	for _, hit := range woken {
		hit.w.area.delivered(hit.pos)
		w.woke(1)
	}
}

// rouseAll wakes every watcher waiting on l, with no log published, as
// when the feed cuts them all off.
func (l *liveLog) rouseAll() {
	for _, slot := range l.wake {
		slot.rouse()
	}
}
