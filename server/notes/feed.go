package notes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// ErrUnavailable is wrapped by every error a store returns because the
// place its notes live cannot be reached; the caller may try again later or
// on another replica.
var ErrUnavailable = errors.New("notes store unavailable")

// ErrTooSlow ends a [Watcher] whose reader fell a whole buffer behind the
// notes being posted.
var ErrTooSlow = errors.New("watcher fell behind")

// ErrClosed is returned by a store, and ends its watchers, once it is
// closed.
var ErrClosed = errors.New("notes store closed")

// Event is one stored note as a feed carries it.
type Event struct {
	// Seq is the note's position in the store, the same on every replica
	// that shares it; it only grows.
	Seq uint64
	// Time is when the store accepted the note.
	Time time.Time
	// Note is the note as stored. It is shared: never modify it.
	Note *routeguide.RouteNote
}

// WatchOptions say what a [Watcher] follows.
type WatchOptions struct {
	// After, when set, replays the stored notes whose sequence is greater,
	// at most the store's replay limit of the newest of them, before the
	// live notes. Unset, the watcher starts with the next note stored.
	After *uint64
	// Match, when set, keeps only the notes it returns true for; it is
	// called for every note stored while the watcher lives, so it must be
	// fast and must not block.
	Match func(*routeguide.RouteNote) bool
}

// Watcher follows the notes a store accepts, in store order, each once. Get
// one from a store's Watch; the caller must call Close when finished.
type Watcher struct {
	feed   *feed
	match  func(*routeguide.RouteNote) bool
	replay []Event
	ch     chan Event // live notes, in order; never closed
	// skip drops the live notes up to this sequence: those stored before
	// the watcher started that the feed had not yet published.
	skip uint64
	// start is the sequence after which the watcher's notes begin.
	start uint64

	cutOnce sync.Once
	cut     chan struct{} // closed when the feed drops the watcher
	err     error         // why; written before cut is closed
}

// Next returns the next note, waiting for one to be stored. It returns an
// error wrapping [ErrTooSlow], [ErrUnavailable] or [ErrClosed] once the
// watcher is cut off, or ctx's error.
func (w *Watcher) Next(ctx context.Context) (Event, error) {
	if len(w.replay) > 0 {
		ev := w.replay[0]
		w.replay[0] = Event{}
		w.replay = w.replay[1:]
		return ev, nil
	}
	// A cut watcher stops at once, even with notes buffered: it may have
	// missed some after them.
	select {
	case <-w.cut:
		return Event{}, w.err
	default:
	}
	for {
		select {
		case ev := <-w.ch:
			if ev.Seq <= w.skip {
				continue
			}
			return ev, nil
		case <-w.cut:
			return Event{}, w.err
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Start returns the sequence the watcher started after: its notes all have
// greater ones.
func (w *Watcher) Start() uint64 {
	return w.start
}

// Close stops the watcher; Next must not be called after it.
func (w *Watcher) Close() {
	w.feed.remove(w)
	w.stop(ErrClosed)
}

func (w *Watcher) stop(err error) {
	w.cutOnce.Do(func() {
		w.err = err
		close(w.cut)
	})
}

// feed fans the notes of one store out to its watchers, in the order the
// store gives them. Whatever the store does to deliver notes, publishing
// never blocks on a watcher: one that has a full buffer is cut off.
type feed struct {
	buffer      int // notes a watcher may fall behind
	replayLimit int

	mu       sync.Mutex // protects the fields below
	last     uint64     // sequence of the last note published
	watchers map[*Watcher]struct{}
	down     error // once set, new watchers are refused with it
}

func newFeed(buffer, replayLimit int) *feed {
	return &feed{buffer: buffer, replayLimit: replayLimit, watchers: make(map[*Watcher]struct{})}
}

// publish hands ev to every watcher it matches. The caller must publish
// notes in increasing sequence, one at a time.
func (f *feed) publish(ev Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ev.Seq <= f.last {
		return // delivered already
	}
	f.last = ev.Seq
	for w := range f.watchers {
		if w.match != nil && !w.match(ev.Note) {
			continue
		}
		select {
		case w.ch <- ev:
		default:
			delete(f.watchers, w)
			w.stop(fmt.Errorf("%w: more than %d notes were waiting to be sent", ErrTooSlow, f.buffer))
		}
	}
}

// register adds w and returns the sequence of the last note published
// before it: w receives every later one.
func (f *feed) register(w *Watcher) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return 0, f.down
	}
	f.watchers[w] = struct{}{}
	return f.last, nil
}

func (f *feed) remove(w *Watcher) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.watchers, w)
}

// cutAll cuts off every watcher with err. The watchers may have missed
// notes while the store was out of reach, so they resume elsewhere, or
// later, by sequence.
func (f *feed) cutAll(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for w := range f.watchers {
		delete(f.watchers, w)
		w.stop(err)
	}
}

// close cuts off every watcher with err and refuses new ones with it.
func (f *feed) close(err error) {
	f.cutAll(err)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = err
}

// skipTo moves the feed past seq without delivering anything, as when the
// store's history starts later than the feed has seen.
func (f *feed) skipTo(seq uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = max(f.last, seq)
}

// watch starts a watcher: it registers with the feed first, so that no
// note falls between the replay and the live notes, then asks replay for
// the stored notes with sequence in (from, to] when opts.After is set.
// Without it, newest tells the sequence of the last note stored anywhere,
// which the feed of a replica may not have published yet: the watcher
// starts after it.
func (f *feed) watch(ctx context.Context, opts WatchOptions,
	newest func(context.Context) (uint64, error),
	replay func(ctx context.Context, from, to uint64) ([]Event, error),
) (*Watcher, error) {
	w := &Watcher{
		feed:  f,
		match: opts.Match,
		ch:    make(chan Event, f.buffer),
		cut:   make(chan struct{}),
	}
	boundary, err := f.register(w)
	if err != nil {
		return nil, err
	}
	if opts.After == nil {
		last, err := newest(ctx)
		if err != nil {
			w.Close()
			return nil, err
		}
		w.skip, w.start = last, last
		return w, nil
	}
	// A watcher resuming from a sequence this replica's feed has not yet
	// reached, as one seen on a replica ahead of it, must not see those
	// notes again.
	w.skip, w.start = *opts.After, *opts.After
	if *opts.After >= boundary {
		return w, nil
	}
	from := *opts.After
	if boundary-from > uint64(f.replayLimit) {
		from = boundary - uint64(f.replayLimit)
	}
	events, err := replay(ctx, from, boundary)
	if err != nil {
		w.Close()
		return nil, err
	}
	for _, ev := range events {
		if w.match == nil || w.match(ev.Note) {
			w.replay = append(w.replay, ev)
		}
	}
	return w, nil
}
