package notes

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// Watcher follows the events of a store, in store order, each once. Get one
// from a store's Watch; the caller must call Close when finished. A watcher
// holds no buffer: it reads the events its feed delivered from the feed's
// live log, which every watcher shares, from its own position.
type Watcher struct {
	// The fields a delivery reads come first, in the first 64 bytes of
	// the watcher (128 in all, so that the allocator aligns it): a watcher
	// is cold when a delivery wakes it, and each cache line it touches
	// costs a miss (BENCHMARKS.md, "Watchers and fan-out: round six").
	// Only Next touches those up to last, but for those register and
	// watch set.

	log  *liveLog // the live log last read
	pos  uint64   // position in the live log of the next event to read
	done <-chan struct{}
	feed *feed
	// match says whether an event is in the watcher's area; nil: all are.
	match func(*routeguide.RouteNote) bool
	// from is the sequence after which the watcher's events begin, the
	// greater of skip and floor.
	from uint64
	last uint64 // sequence of the last event Next returned
	// group is its wake group, or for a watcher of an area its place in
	// the feed's areas; set under the feed's mu.
	group int32
	// flags has flagCut once cutBy is set, which Cut does from any
	// goroutine, and flagReplaying while replay is set: Next looks for
	// both at every event.
	flags atomic.Uint32

	// replay is what is left of the watcher's replay, nil once read (or
	// if it had none): an idle watcher holds none of it.
	replay *replayLeft
	cutBy  atomic.Pointer[cutReason] // why the watcher was cut off
	// skip is the sequence after which the watcher's events begin: it
	// drops the live events up to it, those stored before the watcher
	// started that the feed had not yet delivered.
	skip uint64
	// area is how a watcher of an area is woken; nil for the others.
	area  *areaWake
	epoch string
	ctx   context.Context // the context Next was last given; done is its Done
}

const (
	flagCut = 1 << iota
	flagReplaying
)

// areaWake is how a watcher of an area is woken: on a channel of its own,
// only by the deliveries that hold a note in its area. The notes it was not
// woken for are not in its area, so it may fall behind them for as long as
// it likes, but not behind one that is: mu keeps what it has read and the
// first note in its area it has not, exactly.
type areaWake struct {
	c  chan struct{}
	mu sync.Mutex
	// readTo is the end of the live log the watcher last took: it reads
	// every event before it.
	readTo uint64
	// first is 1 + the log position of the first note in the area at or
	// after readTo, 0 if none has been delivered.
	first uint64
}

// delivered records that a delivery holds a note in the area at log
// position pos, and wakes the watcher.
func (a *areaWake) delivered(pos uint64) {
	a.mu.Lock()
	if pos >= a.readTo && (a.first == 0 || a.first-1 < a.readTo) {
		a.first = pos + 1
	}
	a.mu.Unlock()
	a.wake()
}

// wake wakes the watcher, if it waits or when it next does.
func (a *areaWake) wake() {
	select {
	case a.c <- struct{}{}:
	default: // woken already
	}
}

// take returns the newest live log of f for a watcher at position pos,
// which will read every event of it, and whether the log dropped a note
// in the area that the watcher had not read.
func (a *areaWake) take(f *feed, pos uint64) (l *liveLog, missed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	l = f.live.Load()
	missed = a.first != 0 && a.first-1 >= pos && a.first-1 < l.start()
	a.readTo = l.end
	return l, missed
}

// cutReason is why a watcher was cut off.
type cutReason struct{ err error }

// replayLeft is the part of a watcher's replay still to read: the events with
// sequence in (from, to], and the page of them read but not yet returned.
type replayLeft struct {
	read     replayFunc
	from, to uint64
	page     []Event
}

// Next returns the next event, waiting for one. It returns a
// [*ResumeError] wrapping [ErrTooSlow], [ErrStalled], [ErrUnavailable] or
// [ErrClosed] once the watcher is cut off, an error of the store while it
// replays, or ctx's error.
func (w *Watcher) Next(ctx context.Context) (Event, error) {
	for {
		ev, ok, err := w.take(ctx, true)
		if ok || err != nil {
			return ev, err
		}
		if ctx != w.ctx {
			// Done walks the context's chain, a value at a time, each
			// likely out of cache on a goroutine just woken: 2.4% of
			// a delivery's CPU at 1,000 watchers, asked at every wait.
			w.ctx, w.done = ctx, ctx.Done()
		}
		// Waiting for the log after the one that had nothing more: one
		// published since has closed the channel already. A watcher cut
		// off after it looked wakes with its group (see Cut), or, if the
		// channel was replaced before it got it, sees the cut here.
		var wake <-chan struct{}
		if w.area != nil {
			wake = w.area.c
		} else {
			wake = w.log.slot(int(w.group)).wait()
		}
		if w.flags.Load()&flagCut != 0 {
			continue // take says why
		}
		select {
		case <-wake:
		case <-w.done:
			return Event{}, ctx.Err()
		}
	}
}

// TryNext returns the next event if one is ready without waiting or asking
// the store (ok false if none is), so that a caller can send what is ready
// with the event Next gave it, as one write. Its errors are those of Next,
// which returns them too.
func (w *Watcher) TryNext() (ev Event, ok bool, err error) {
	return w.take(context.Background(), false)
}

// take returns the next event that is ready, reading the next page of the
// replay first if read says so, or ok false if none is.
func (w *Watcher) take(ctx context.Context, read bool) (Event, bool, error) {
	for {
		if w.flags.Load()&flagReplaying != 0 {
			r := w.replay
			if err := w.cutErr(); err != nil {
				// The store may have begun again: the rest of the
				// replay would be of another life.
				w.dropReplay()
				return Event{}, false, err
			}
			if len(r.page) > 0 {
				ev := r.page[0]
				r.page[0] = Event{}
				r.page = r.page[1:]
				w.last = ev.Seq
				return ev, true, nil
			}
			if r.from >= r.to {
				w.dropReplay() // read: let it go while live
				continue
			}
			if !read {
				return Event{}, false, nil
			}
			if err := w.readPage(ctx); err != nil {
				return Event{}, false, err
			}
			continue
		}
		// A cut watcher stops at once, even with events ready: it may
		// have missed some after them.
		if err := w.cutErr(); err != nil {
			return Event{}, false, err
		}
		if w.pos == w.log.end && !w.readLog() {
			return Event{}, false, w.cutErr() // cut off if it fell behind
		}
		ev := w.log.at(w.pos)
		w.pos++
		if ev.Seq <= w.from || (w.match != nil && !w.match(ev.Note)) {
			continue
		}
		w.last = ev.Seq
		return ev, true, nil
	}
}

// readLog takes the newest live log, and reports whether it holds events
// from the watcher's position on. A watcher whose next events the log no
// longer holds is cut off: it fell more than its buffer behind, since the
// log keeps at least that many (see [liveLog.next]). A watcher of an area
// is cut off so only if the log dropped a note in its area that it has
// not read; the notes it was not woken for, it skips. A watcher that reads
// is never cut by a burst, as when a feed catches up after a stall of the
// store and delivers more than a buffer at once: the log keeps the whole
// of each delivery.
func (w *Watcher) readLog() bool {
	var missed bool
	if w.area != nil {
		w.log, missed = w.area.take(w.feed, w.pos)
	} else {
		w.log = w.feed.live.Load()
	}
	if w.pos == w.log.end {
		return false
	}
	if start := w.log.start(); w.pos < start {
		if w.area != nil && !missed {
			w.pos = start // what was dropped is not in its area
			return true
		}
		// The log keeps at least the feed's buffer behind its end.
		w.feed.remove(w)
		w.markCut(fmt.Errorf("%w: more than %d events behind the live log", ErrTooSlow, w.feed.buffer))
		return false
	}
	return true
}

// dropReplay forgets the rest of the replay.
func (w *Watcher) dropReplay() {
	if w.replay != nil {
		clear(w.replay.page)
		w.replay = nil
		w.flags.And(^uint32(flagReplaying))
	}
}

// replayFrom sets the watcher to replay the events with sequence in
// (from, to], reading them with read, before the live ones.
func (w *Watcher) replayFrom(read replayFunc, from, to uint64) {
	w.replay = &replayLeft{read: read, from: from, to: to}
	w.flags.Or(flagReplaying)
}

// startAfter sets the sequence after which the watcher's events begin,
// seq; floor is the last event the feed had queued when the watcher
// registered, which the feed delivers only later ones of.
func (w *Watcher) startAfter(seq, floor uint64) {
	w.skip, w.last, w.from = seq, seq, max(seq, floor)
}

// cutErr returns the error that ended the watcher, if it was cut off.
func (w *Watcher) cutErr() error {
	if w.flags.Load()&flagCut == 0 {
		return nil
	}
	return &ResumeError{Err: w.cutBy.Load().err, After: w.last, Epoch: w.epoch}
}

// readPage reads the next page of the replay, keeping the events the
// watcher matches.
func (w *Watcher) readPage(ctx context.Context) error {
	r := w.replay
	events, upTo, err := r.read(ctx, r.from, r.to, replayPage)
	if err != nil {
		return fmt.Errorf("replay notes after sequence %d: %w", r.from, err)
	}
	if upTo <= r.from {
		upTo = r.to // the store read nothing: it has nothing more
	}
	r.from = upTo
	// The page is the store's answer, filtered in place. A replayed event
	// reaches this watcher alone: caching its encoding would only leave
	// garbage behind.
	page := events[:0]
	for _, ev := range events {
		if w.match == nil || w.match(ev.Note) {
			ev.cache = nil
			page = append(page, ev)
		}
	}
	clear(events[len(page):])
	r.page = page
	return nil
}

// Start returns the sequence the watcher started after: its events all
// have greater ones.
func (w *Watcher) Start() uint64 {
	return w.skip
}

// Epoch returns the epoch of the store that the watcher's sequences belong
// to; see [Store.Epoch].
func (w *Watcher) Epoch() string {
	return w.epoch
}

// Cut cuts the watcher off with err, wrapped by what Next then returns;
// the events of its replay go as Next finds it cut. Unlike Next, it may be
// called from any goroutine, as while the watcher's reader is blocked
// sending an event, or waiting for one: it then wakes the watcher's whole
// wake group, the others to wait again (see cutWave).
func (w *Watcher) Cut(err error) {
	w.feed.remove(w)
	w.markCut(err)
	if w.area != nil {
		w.area.wake()
		return
	}
	// The slot of the newest log: if the watcher waits on an older one,
	// the delivery that replaced it wakes it.
	w.feed.live.Load().slot(int(w.group)).rouse()
}

// Close stops the watcher; Next must not be called after it.
func (w *Watcher) Close() {
	w.feed.remove(w)
	w.markCut(ErrClosed)
	w.ctx, w.done = nil, nil
}

// markCut records that the watcher was cut off with err, unless it was
// already: Next returns it from then on.
func (w *Watcher) markCut(err error) {
	if w.cutBy.CompareAndSwap(nil, &cutReason{err}) {
		w.flags.Or(flagCut)
	}
}
