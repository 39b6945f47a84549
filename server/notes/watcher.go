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
	feed  *feed
	match func(*routeguide.RouteNote) bool
	epoch string
	// skip is the sequence after which the watcher's events begin: it
	// drops the live events up to it, those stored before the watcher
	// started that the feed had not yet delivered.
	skip uint64
	// floor is the last event the feed had queued when the watcher
	// registered: the feed delivers it only later ones. Set under the
	// feed's mu.
	floor uint64
	group int // its wake group, set under the feed's mu

	// Only Next touches the fields from here to done, but for those
	// register sets.

	// replay is what is left of the watcher's replay, nil once read (or
	// if it had none): an idle watcher holds none of it.
	replay *replayLeft
	last   uint64   // sequence of the last event Next returned
	log    *liveLog // the live log last read
	pos    uint64   // position in the live log of the next event to read
	ready  []Event  // the events of log from pos on, not yet looked at
	// ctx is the context Next was last given, and done its Done.
	ctx  context.Context
	done <-chan struct{}

	// Cut, from any goroutine, sets these.
	cut    atomic.Bool // whether err is set, read without mu
	mu     sync.Mutex  // protects err
	err    error       // why the watcher was cut off, once it was
	signal chan struct{}
}

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
		// published since has closed the channel already.
		select {
		case <-w.log.wake[w.group].wait():
		case <-w.signal:
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
		if r := w.replay; r != nil {
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
				w.replay = nil // read: let it go while live
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
		if len(w.ready) == 0 && !w.readLog() {
			return Event{}, false, w.cutErr() // cut off if it fell behind
		}
		ev := w.ready[0]
		w.ready = w.ready[1:]
		w.pos++
		if ev.Seq <= w.skip || ev.Seq <= w.floor || (w.match != nil && !w.match(ev.Note)) {
			continue
		}
		w.last = ev.Seq
		return ev, true, nil
	}
}

// readLog reads the events delivered since the watcher's position into
// ready, and reports whether there are any. A watcher whose next events
// the log no longer holds is cut off: it fell more than its buffer behind,
// since the log keeps at least that many (see [liveLog.next]). A watcher
// that reads is never cut by a burst, as when a feed catches up after a
// stall of the store and delivers more than a buffer at once: the log
// keeps the whole of each delivery.
func (w *Watcher) readLog() bool {
	w.log = w.feed.live.Load()
	if w.pos == w.log.end {
		return false
	}
	if w.pos < w.log.start() {
		// The log keeps at least the feed's buffer behind its end.
		w.Cut(fmt.Errorf("%w: more than %d events behind the live log", ErrTooSlow, w.feed.buffer))
		return false
	}
	w.ready = w.log.since(w.pos)
	return true
}

// dropReplay forgets the rest of the replay.
func (w *Watcher) dropReplay() {
	if w.replay != nil {
		clear(w.replay.page)
		w.replay = nil
	}
}

// cutErr returns the error that ended the watcher, if it was cut off.
func (w *Watcher) cutErr() error {
	if !w.cut.Load() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		return nil
	}
	return &ResumeError{Err: w.err, After: w.last, Epoch: w.epoch}
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
// sending an event.
func (w *Watcher) Cut(err error) {
	w.feed.remove(w)
	w.stop(err)
}

// Close stops the watcher; Next must not be called after it.
func (w *Watcher) Close() {
	w.feed.remove(w)
	w.stop(ErrClosed)
	w.ready, w.ctx, w.done = nil, nil, nil
}

func (w *Watcher) stop(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
		w.cut.Store(true)
	}
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}
