package notes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/geo"
)

// ErrUnavailable is wrapped by every error a store returns because the
// place its notes live cannot be reached; the caller may try again later or
// on another replica.
var ErrUnavailable = errors.New("notes store unavailable")

// ErrTooSlow ends a [Watcher] whose reader fell a whole buffer behind the
// notes being posted.
var ErrTooSlow = errors.New("watcher fell behind")

// ErrFeedBehind is wrapped, beside [ErrTooSlow], by the error that ends
// every watcher of a replica whose feed fell so far behind the store that
// it dropped what it had not delivered: the replica was slow, not the
// watchers' readers.
var ErrFeedBehind = errors.New("this replica's feed fell behind the store")

// ErrStalled is wrapped by the error of a [Watcher] whose reader took none
// of its events for longer than it may: its caller cut it off with
// [Watcher.Cut].
var ErrStalled = errors.New("watcher stalled")

// ErrClosed is returned by a store, and ends its watchers, once it is
// closed.
var ErrClosed = errors.New("notes store closed")

// ErrStaleResume refuses a watcher that resumes from a position of another
// life of the store ([WatchOptions.Epoch] is not the store's), or beyond
// its last note: its sequences now mean other notes, so resuming would
// silently skip some. The caller must start again without resuming.
var ErrStaleResume = errors.New("resume position is not of this store's life")

// ResumeError ends a [Watcher] that the caller may follow again, here
// later or on another replica, with [WatchOptions.After] set to After and
// [WatchOptions.Epoch] to Epoch. It wraps why the watcher ended:
// [ErrTooSlow], [ErrStalled], [ErrUnavailable] or [ErrClosed].
type ResumeError struct {
	Err   error
	After uint64 // the sequence of the last event the watcher returned
	Epoch string
}

func (e *ResumeError) Error() string {
	return fmt.Sprintf("%v; resume after sequence %d", e.Err, e.After)
}

func (e *ResumeError) Unwrap() error { return e.Err }

// Event is one change of the store as a feed carries it: a note stored or,
// when Deleted is not 0, a note deleted. Events are shared by every
// watcher they reach and never change, so a caller may cache what it
// derives from one with [Event.Encoded].
type Event struct {
	// Seq is the event's position in the store, the same on every replica
	// that shares it; it only grows.
	Seq uint64
	// Time is when the store accepted the note, or the deletion.
	Time time.Time
	// Note is the note as stored. It is shared: never modify it. For a
	// deletion it holds the deleted note's location only, so that
	// watchers of an area see the deletions in it.
	Note *routeguide.RouteNote
	// Author is who posted the note; the zero Author for a deletion.
	Author Author
	// Deleted, when not 0, makes the event a deletion: the sequence of
	// the note deleted.
	Deleted uint64

	cache *encodings // shared by the copies of the event
	noop  bool       // moves the feed past Seq, delivered to no one
}

// encodings are the encoded forms of one event, one per format.
type encodings struct {
	mu sync.Mutex // serializes the encoding and the replacement of by
	// by is read without the lock, by every watcher of the event: a
	// delivery then takes no lock that the event's other watchers, woken
	// at once, would queue for. A slice it points to never changes.
	by atomic.Pointer[[]encoding]
}

type encoding struct {
	format string
	data   []byte
	err    error
}

// Shared reports whether the event may reach many watchers, so that
// [Event.Encoded] keeps what it encodes; a replayed event reaches one, and
// keeps nothing.
func (e Event) Shared() bool {
	return e.cache != nil
}

// Encoded returns encode's result for the event in the named format,
// calling encode only the first time any watcher asks, so that an event
// reaching many watchers is encoded once per format. The bytes are shared:
// never modify them. An Event made outside a store caches nothing.
func (e Event) Encoded(format string, encode func() ([]byte, error)) ([]byte, error) {
	if e.cache == nil {
		return encode()
	}
	if enc, ok := e.cache.find(format); ok {
		return enc.data, enc.err
	}
	e.cache.mu.Lock()
	defer e.cache.mu.Unlock()
	if enc, ok := e.cache.find(format); ok {
		return enc.data, enc.err // encoded while this watcher waited
	}
	data, err := encode()
	var by []encoding
	if old := e.cache.by.Load(); old != nil {
		by = append(by, *old...)
	}
	by = append(by, encoding{format: format, data: data, err: err})
	e.cache.by.Store(&by)
	return data, err
}

// Cached returns the event's bytes in the named format if a watcher has
// encoded them already with [Event.Encoded], without encoding them: a
// watcher that can write them in a cheaper way than the encoder's caller
// asks first. It returns false for an event that caches nothing, and for
// an encoding that failed.
func (e Event) Cached(format string) ([]byte, bool) {
	if e.cache == nil {
		return nil, false
	}
	enc, ok := e.cache.find(format)
	return enc.data, ok && enc.err == nil
}

// find returns the encoding in format, if the event has one.
func (c *encodings) find(format string) (encoding, bool) {
	if by := c.by.Load(); by != nil {
		for _, enc := range *by {
			if enc.format == format {
				return enc, true
			}
		}
	}
	return encoding{}, false
}

func newEvent(n Note, deleted uint64) Event {
	return Event{Seq: n.Seq, Time: n.Time, Note: n.Note, Author: n.Author, Deleted: deleted, cache: &encodings{}}
}

// WatchOptions say what a [Watcher] follows.
type WatchOptions struct {
	// After, when set, replays the stored notes whose sequence is greater,
	// at most the store's replay limit of the newest of them, before the
	// live notes. Unset, the watcher starts with the next note stored.
	After *uint64
	// Epoch, when set with After, is the store's epoch that After was
	// learnt in; Watch fails with [ErrStaleResume] if the store has begun
	// again since. Even unset, an After beyond the store's last note is
	// refused so.
	Epoch string
	// Area, when set, keeps only the notes whose location it holds, and
	// the watcher is woken only for them (see [wakeAreas]).
	Area *geo.Bounds
	// Match, when set, keeps only the notes it returns true for; it is
	// called for every note stored while the watcher lives, and for the
	// location of every note deleted, so it must be fast and must not
	// block. A watcher with Match and no Area is woken for every note.
	Match func(*routeguide.RouteNote) bool
	// Conn names the connection the watcher's events are written to, as
	// its peer's address does: the feed wakes the watchers of the world
	// of one connection together (see [wakeGroups]). Watchers that leave
	// it empty are taken as watchers of one connection.
	Conn string
}

// replayFunc reads at most limit events of the store with sequence in
// (from, to], oldest first, and the sequence it read up to: to once the
// range is read.
type replayFunc func(ctx context.Context, from, to uint64, limit int) (events []Event, upTo uint64, err error)

// maxPending is how many events a feed holds for delivery: past it, it
// drops them and cuts every watcher off, since delivery is that far behind
// the store. 65,536 events of notes up to 1 KiB take up to about 80 MiB.
const maxPending = 1 << 16

// replayPage is how many events a replaying watcher reads from the store
// at a time: a watcher whose reader stops holds at most a page of its
// replay, 16 events of about 100 bytes besides the notes, which the store
// holds anyway.
const replayPage = 16

// feed fans the events of one store out to its watchers, in the order the
// store gives them. Publishing only queues an event: a goroutine that
// lives while there are events to deliver appends them to the live log
// that every watcher reads from its own position, and wakes the watchers,
// so that whoever stores a note never pays for the watchers, and never
// waits for one: a watcher that falls more than a buffer behind the log
// is cut off.
type feed struct {
	buffer      int // events a watcher may fall behind
	replayLimit int

	queueMu  sync.Mutex // protects the fields below, up to mu
	accepted uint64     // sequence of the last event queued
	pending  []Event    // queued, not yet delivered
	running  bool       // a goroutine is delivering pending
	queueGen uint64     // generation of the events queued
	overrun  bool       // pending was dropped for being maxPending long
	recent   recentEvents

	mu   sync.Mutex // protects the fields below; taken after queueMu, never before
	last uint64     // sequence of the last event delivered
	gen  uint64     // bumped by reset: events of older ones are dropped
	// watchers holds every watcher, and for one of the world the count
	// of its connection's watchers in groups.
	watchers map[*Watcher]*connGroups
	groups   wakeGroups
	// areas are the watchers of an area (Area), with it, in no order.
	areas []areaWatcher
	down  error // once set, new watchers are refused with it
	// live is what the watchers read; it is replaced under mu and read
	// without it.
	live atomic.Pointer[liveLog]
}

// areaWatcher is a watcher of an area. A delivery wakes it, on its own
// channel, only if the area holds one of its notes: the maps of a page
// show a region, and with one live log for all, a note woke every
// watcher of the replica, the thousands whose area it is not in too, to
// find nothing. Testing the areas costs the delivery a few nanoseconds a
// watcher, from one array; waking one on its own channel costs what a
// wake group's channel costs each of its watchers. Watchers of the world
// (no Area) stay in wake groups: every note is theirs.
type areaWatcher struct {
	area geo.Bounds
	w    *Watcher
}

func newFeed(buffer, replayLimit int) *feed {
	f := &feed{buffer: buffer, replayLimit: replayLimit, watchers: make(map[*Watcher]*connGroups)}
	f.live.Store(&liveLog{wake: newWakeSlots(0)})
	return f
}

// publish queues ev for every watcher it matches. The caller must publish
// events in increasing sequence, one at a time.
func (f *feed) publish(ev Event) {
	f.queueMu.Lock()
	defer f.queueMu.Unlock()
	if ev.Seq <= f.accepted {
		return // delivered already
	}
	f.accepted = ev.Seq
	f.recent.add(ev)
	if len(f.pending) >= maxPending {
		// Delivery fell far behind the store: rather than hold more,
		// drop the backlog and cut every watcher off; they resume from
		// the store by sequence.
		f.pending = f.pending[:0]
		f.overrun = true
	}
	f.pending = append(f.pending, ev)
	if !f.running {
		f.running = true
		go f.deliverPending(f.queueGen)
	}
}

// deliverPending hands the queued events to the watchers until none is
// left, then ends.
func (f *feed) deliverPending(gen uint64) {
	var woken []areaHit // the watchers of an area each delivery wakes
	var sizes []int     // how many watchers each wake group held
	for {
		f.queueMu.Lock()
		if f.queueGen != gen {
			// reset gave the queue to a goroutine of its own.
			f.queueMu.Unlock()
			return
		}
		batch := f.pending
		f.pending = nil
		overrun := f.overrun
		f.overrun = false
		if len(batch) == 0 {
			f.running = false
			f.queueMu.Unlock()
			return
		}
		f.queueMu.Unlock()
		f.mu.Lock()
		if overrun {
			f.cutAllLocked(fmt.Errorf("%w: %w by more than %d events", ErrTooSlow, ErrFeedBehind, maxPending))
		}
		old := f.deliver(batch, gen)
		if old != nil {
			woken = f.areasHolding(old.end, woken[:0])
			sizes = append(sizes[:0], f.groups.n...)
		}
		f.mu.Unlock()
		if old != nil {
			var w waves
			old.wakeAll(&w, sizes)
			wakeAreas(woken, &w)
			clear(woken)
		}
	}
}

// deliver publishes the live log with the events of batch that are due,
// and returns the log it replaced, whose watchers the caller must wake, or
// nil if none was due. The caller holds f.mu.
func (f *feed) deliver(batch []Event, gen uint64) *liveLog {
	if gen != f.gen {
		return nil
	}
	due := batch[:0] // the batch is the deliverer's alone
	for _, ev := range batch {
		if ev.Seq <= f.last {
			continue
		}
		f.last = ev.Seq
		if !ev.noop {
			due = append(due, ev)
		}
	}
	if len(due) == 0 {
		return nil
	}
	old := f.live.Load()
	f.live.Store(old.next(due, f.buffer, len(f.groups.n)))
	return old
}

// areaHit is a watcher of an area and the log position of the first note
// of a delivery in it.
type areaHit struct {
	w   *Watcher
	pos uint64
}

// areasHolding appends to woken the watchers of an area that holds a
// note of the live log from position from on, the events just delivered,
// each with the first such note's position. The caller holds f.mu.
func (f *feed) areasHolding(from uint64, woken []areaHit) []areaHit {
	if len(f.areas) == 0 {
		return woken
	}
	l := f.live.Load()
	var points [8]geo.Point // most deliveries are of one note
	at := points[:0]
	for pos := from; pos < l.end; pos++ {
		at = append(at, geo.PointOf(l.at(pos).Note.GetLocation()))
	}
	for _, a := range f.areas {
		for i, p := range at {
			if a.area.Contains(p) {
				woken = append(woken, areaHit{a.w, from + uint64(i)})
				break
			}
		}
	}
	return woken
}

// lastAccepted returns the sequence of the last event queued.
func (f *feed) lastAccepted() uint64 {
	f.queueMu.Lock()
	defer f.queueMu.Unlock()
	return f.accepted
}

// skip moves the feed past seq without delivering anything, as for a
// message that is not a note.
func (f *feed) skip(seq uint64) {
	f.publish(Event{Seq: seq, noop: true})
}

// register adds w, whose events are written to the connection named
// conn, and returns the sequence of the last event queued before it: w
// receives every later one. Those queued but not yet delivered are the
// store's already, so w reads them in its replay rather than in its
// buffer.
func (f *feed) register(w *Watcher, area *geo.Bounds, conn string) (uint64, error) {
	f.queueMu.Lock()
	defer f.queueMu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return 0, f.down
	}
	var c *connGroups
	if area != nil {
		w.area = &areaWake{c: make(chan struct{}, 1)}
		w.group = int32(len(f.areas)) // its place in areas
		f.areas = append(f.areas, areaWatcher{area: *area, w: w})
	} else {
		w.group, c = f.groups.join(conn)
		if l := f.live.Load(); int(w.group) >= len(l.wake) {
			f.live.Store(l.withRoom(2 * len(f.groups.n)))
		}
	}
	w.log = f.live.Load()
	w.pos = w.log.end
	f.watchers[w] = c
	return f.accepted, nil
}

func (f *feed) remove(w *Watcher) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removeLocked(w)
}

func (f *feed) removeLocked(w *Watcher) {
	c, ok := f.watchers[w]
	if !ok {
		return
	}
	delete(f.watchers, w)
	if w.area == nil {
		f.groups.leave(w.group, c)
		return
	}
	// The last watcher of an area takes w's place.
	last := len(f.areas) - 1
	moved := f.areas[last]
	f.areas[w.group] = moved
	moved.w.group = w.group
	f.areas[last] = areaWatcher{}
	f.areas = f.areas[:last]
}

// cutAll cuts off every watcher with err. The watchers may have missed
// events while the store was out of reach, so they resume elsewhere, or
// later, by sequence.
func (f *feed) cutAll(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cutAllLocked(err)
}

func (f *feed) cutAllLocked(err error) {
	for w := range f.watchers {
		f.removeLocked(w)
		w.markCut(err)
		if w.area != nil {
			w.area.wake()
		}
	}
	f.live.Load().rouseAll()
}

// close cuts off every watcher with err and refuses new ones with it.
func (f *feed) close(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cutAllLocked(err)
	f.down = err
}

// reset starts the feed over at seq, for a store that has begun again:
// it cuts off every watcher with err and drops every event queued. A new
// feed starts so, with no watchers to cut off.
func (f *feed) reset(seq uint64, err error) {
	f.queueMu.Lock()
	defer f.queueMu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cutAllLocked(err)
	f.queueGen++
	f.gen = f.queueGen
	f.pending = nil
	f.running = false // the goroutine of the old generation ends by itself
	f.accepted, f.last = seq, seq
	f.recent.restart(seq)
}

// watch starts a watcher: it registers with the feed first, so that no
// event falls between the replay and the live events, then sets the
// watcher to replay, a page at a time as it is read, the stored events
// with sequence in (After, boundary] when opts.After is set. newest tells
// the sequence of the last event stored anywhere, which the feed of a
// replica may not have delivered yet: a watcher without After starts
// after it, and one with an After beyond it is stale.
func (f *feed) watch(ctx context.Context, opts WatchOptions, epoch string,
	newest func(context.Context) (uint64, error), replay replayFunc,
) (*Watcher, error) {
	if opts.After != nil && opts.Epoch != "" && opts.Epoch != epoch {
		return nil, fmt.Errorf("%w: it is of epoch %q, the store is now of epoch %q", ErrStaleResume, opts.Epoch, epoch)
	}
	w := &Watcher{
		feed:  f,
		match: opts.Match,
		epoch: epoch,
	}
	if opts.Area != nil {
		area := *opts.Area
		w.match = func(n *routeguide.RouteNote) bool {
			return area.Contains(geo.PointOf(n.GetLocation())) && (opts.Match == nil || opts.Match(n))
		}
	}
	boundary, err := f.register(w, opts.Area, opts.Conn)
	if err != nil {
		return nil, err
	}
	// A watcher without After starts after the newest event anywhere; one
	// resuming from a sequence this replica's feed has not yet reached, as
	// one seen on a replica ahead of it, must not see those events again.
	if opts.After == nil || *opts.After > boundary {
		last, err := newest(ctx)
		if err != nil {
			w.Close()
			return nil, err
		}
		if opts.After == nil {
			w.startAfter(last, boundary)
			return w, nil
		}
		if *opts.After > last {
			w.Close()
			return nil, fmt.Errorf("%w: sequence %d is beyond the store's last, %d", ErrStaleResume, *opts.After, last)
		}
	}
	after := *opts.After
	w.startAfter(after, boundary)
	if after < boundary {
		w.replayFrom(replay, max(after, boundary-min(boundary, uint64(f.replayLimit))), boundary)
	}
	return w, nil
}
