package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/server/geo"
)

// recorder keeps what the nemesis mode's clients saw: acknowledged notes
// and every call with its deadline, for the checker, and each call's outcome
// by code, for the report.
type recorder struct {
	start time.Time

	mu       sync.Mutex // protects everything below
	acked    []ackedNote
	calls    []callRecord
	active   map[int]activeCall // calls in progress, by id
	nextID   int
	outcomes map[string]map[string]int // procedure → code (or "ok") → calls
	firstErr map[string]string         // procedure and code → the first error's text
}

type activeCall struct {
	procedure, by string
	started       time.Time
	deadline      time.Duration
}

func newRecorder(start time.Time) *recorder {
	return &recorder{start: start, active: map[int]activeCall{}, outcomes: map[string]map[string]int{}, firstErr: map[string]string{}}
}

// begin records a call with its deadline; the caller must call the
// function it returns with the call's error once the call has returned.
func (r *recorder) begin(procedure, by string, deadline time.Duration) func(error) {
	r.mu.Lock()
	id := r.nextID
	r.nextID++
	started := time.Now()
	r.active[id] = activeCall{procedure, by, started, deadline}
	r.mu.Unlock()
	return func(err error) {
		elapsed := time.Since(started)
		outcome, text := "ok", ""
		if err != nil {
			outcome, text = connect.CodeOf(err).String(), err.Error()
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.active, id)
		r.calls = append(r.calls, callRecord{procedure, by, started.Sub(r.start), deadline, elapsed, false, text})
		if r.outcomes[procedure] == nil {
			r.outcomes[procedure] = map[string]int{}
		}
		r.outcomes[procedure][outcome]++
		if key := procedure + " " + outcome; err != nil && r.firstErr[key] == "" {
			r.firstErr[key] = err.Error()
		}
	}
}

func (r *recorder) ack(n ackedNote) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acked = append(r.acked, n)
}

// snapshot returns the acknowledged notes and the calls, counting those
// still in progress as unfinished.
func (r *recorder) snapshot() ([]ackedNote, []callRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls := append([]callRecord(nil), r.calls...)
	for _, c := range r.active {
		calls = append(calls, callRecord{c.procedure, c.by, c.started.Sub(r.start), c.deadline, time.Since(c.started), true, ""})
	}
	return append([]ackedNote(nil), r.acked...), calls
}

// outcomeLines describes each procedure's calls by outcome, one line each.
func (r *recorder) outcomeLines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lines []string
	for procedure, byCode := range r.outcomes {
		var parts []string
		for code, n := range byCode {
			parts = append(parts, fmt.Sprintf("%s %d", code, n))
		}
		sort.Strings(parts)
		lines = append(lines, fmt.Sprintf("%-10s %s", procedure, strings.Join(parts, ", ")))
	}
	sort.Strings(lines)
	var firsts []string
	for key, msg := range r.firstErr {
		firsts = append(firsts, fmt.Sprintf("  first %s: %.200s", key, msg))
	}
	sort.Strings(firsts)
	return append(lines, firsts...)
}

// noteBudget hands out locations for notes so that the store never
// evicts one: no location gets more notes than it keeps, and all the notes
// together never cost more than the store's bound on bytes. Unacknowledged
// notes count, as they may have been stored.
type noteBudget struct {
	mu          sync.Mutex // protects the fields below
	perLocation []int      // notes sent to each location
	keep        int        // notes a location keeps
	left        int        // notes that may still be sent in all
}

func newNoteBudget(locations, keep int, storedBytes int64, noteBytes int) *noteBudget {
	left := min(int64(locations)*int64(keep), storedBytes/int64(noteBytes+notesOverheadBytes))
	return &noteBudget{perLocation: make([]int, locations), keep: keep, left: int(left)}
}

// notesOverheadBytes is what the store counts for a note beyond its text
// (server/limits.NoteOverheadBytes).
const notesOverheadBytes = 256

// take returns a location for one more note, chosen by rng among those not
// full, or false once the budget is spent.
func (b *noteBudget) take(rng *rand.Rand) (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left <= 0 {
		return 0, false
	}
	n := len(b.perLocation)
	for i, start := 0, rng.IntN(n); i < n; i++ {
		loc := (start + i) % n
		if b.perLocation[loc] < b.keep {
			b.perLocation[loc]++
			b.left--
			return loc, true
		}
	}
	return 0, false
}

// load is what every client of a nemesis run shares.
type load struct {
	baseURL        string
	protocol       client.Protocol
	run            runID
	rec            *recorder
	budget         *noteBudget
	period         time.Duration // between two notes of one poster or chatter
	callDeadline   time.Duration // of PostNote
	streamDeadline time.Duration // of RouteChat and WatchNotes
}

// message returns the text of note k of client by: unique to the run.
func (l *load) message(by string, k int) string {
	return fmt.Sprintf("nemesis-%08x-%s-%d", uint32(l.run), by, k)
}

// longestMessage bounds the length of message for clients named up to
// "watcher-999" sending up to a billion notes.
const longestMessage = len("nemesis-00000000-chatter-999-1000000000")

func (l *load) notesClient() notesv1connect.NotesServiceClient {
	var options []connecthttp.Option
	switch l.protocol {
	case client.ProtocolGRPC:
		options = append(options, connecthttp.WithGRPC())
	case client.ProtocolGRPCWeb:
		options = append(options, connecthttp.WithGRPCWeb())
	}
	return notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(h2cClient(), l.baseURL, options...)))
}

// h2cClient returns an HTTP client with its own connections that speaks
// HTTP/2 without TLS, as HAProxy's front does.
func h2cClient() *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Protocols = new(http.Protocols)
	transport.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: transport}
}

// pause waits d, or until ctx is done; it reports whether ctx is still
// live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// retryPause is how long a client waits after a failed call before the
// next: long enough not to spin while a fault lasts.
const retryPause = 200 * time.Millisecond

// poster posts a note every period with PostNote until ctx is done or the
// budget is spent. A call in progress when ctx ends finishes, within its
// deadline.
func (l *load) poster(ctx context.Context, name string, rng *rand.Rand) {
	notes := l.notesClient()
	tick := time.NewTicker(l.period)
	defer tick.Stop()
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		loc, ok := l.budget.take(rng)
		if !ok {
			return
		}
		note := &routeguide.RouteNote{Location: l.run.location(loc), Message: l.message(name, k)}
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.callDeadline)
		// The note's text is unique to the run: it names the call too, so
		// that a call resent by the HTTP/2 client stores the note once.
		callCtx, info := connect.NewClientContext(callCtx)
		info.RequestHeader().Set("Idempotency-Key", note.GetMessage())
		end := l.rec.begin("PostNote", name, l.callDeadline)
		_, err := notes.PostNote(callCtx, &notesv1.PostNoteRequest{Note: note})
		end(err)
		cancel()
		if err == nil {
			l.rec.ack(ackedNote{message: note.GetMessage(), location: geo.PointOf(note.GetLocation()), by: name})
		}
	}
}

// notesPerChat is how many notes a chatter sends on one RouteChat call
// before it ends it and opens another.
const notesPerChat = 20

// chatter sends a note every period on RouteChat calls, each note waiting
// for its answer, and opens a new call when one fails, until ctx is done
// or the budget is spent.
func (l *load) chatter(ctx context.Context, name string, rng *rand.Rand) {
	c, err := client.New(l.baseURL, client.WithProtocol(l.protocol), client.WithHTTPClient(h2cClient()))
	if err != nil {
		panic(err) // the base URL is HAProxy's, well formed
	}
	tick := time.NewTicker(l.period)
	defer tick.Stop()
	k := 0
	for ctx.Err() == nil {
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.streamDeadline)
		end := l.rec.begin("RouteChat", name, l.streamDeadline)
		spent, err := l.chat(ctx, c.RouteChat(callCtx), name, rng, tick, &k)
		end(err)
		cancel()
		if spent {
			return
		}
		if err != nil && !pause(ctx, retryPause) {
			return
		}
	}
}

// chat sends up to notesPerChat notes on one call, then ends it. It
// reports whether the budget is spent, and the error that ended the call.
func (l *load) chat(ctx context.Context, chat *client.Chat, name string, rng *rand.Rand, tick *time.Ticker, k *int) (spent bool, _ error) {
	for range notesPerChat {
		select {
		case <-ctx.Done():
			return false, closeChat(chat)
		case <-tick.C:
		}
		loc, ok := l.budget.take(rng)
		if !ok {
			return true, closeChat(chat)
		}
		note := &routeguide.RouteNote{Location: l.run.location(loc), Message: l.message(name, *k)}
		*k++
		if err := chat.Send(note); err != nil {
			_, err := chat.Receive() // the reason the call ended
			return false, err
		}
		// The answer is every note at the location up to and including
		// this one.
		for {
			reply, err := chat.Receive()
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = errors.New("RouteChat ended without answering a note")
				}
				return false, err
			}
			if reply.GetMessage() == note.GetMessage() {
				l.rec.ack(ackedNote{message: note.GetMessage(), location: geo.PointOf(note.GetLocation()), by: name})
				break
			}
		}
	}
	return false, closeChat(chat)
}

// closeChat ends a chat whose notes have all been answered.
func closeChat(chat *client.Chat) error {
	if err := chat.CloseSend(); err != nil {
		_, err := chat.Receive()
		return err
	}
	for {
		if _, err := chat.Receive(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// watcher follows the notes in its area with WatchNotes until ctx is done,
// as the browser page does: when a call ends, for any reason, it opens
// another that resumes after the last sequence it saw.
type watcher struct {
	name  string
	area  *routeguide.Rectangle // nil for the whole world
	load  *load
	after uint64 // the last sequence seen; the store starts empty
	epoch string // the store life after belongs to, as the feed says it

	call int // the number of the call in progress, from 0

	mu         sync.Mutex // protects deliveries and seen
	deliveries []delivery
	seen       map[string]bool
}

func (w *watcher) run(ctx context.Context) {
	notes := w.load.notesClient()
	for ctx.Err() == nil {
		callCtx, cancel := context.WithTimeout(ctx, w.load.streamDeadline)
		end := w.load.rec.begin("WatchNotes", w.name, w.load.streamDeadline)
		after, epoch := w.after, w.epoch
		req := &notesv1.WatchNotesRequest{Area: w.area, AfterSequence: &after}
		if epoch != "" {
			req.AfterEpoch = &epoch
		}
		stream, err := notes.WatchNotes(callCtx, req)
		if err == nil {
			for {
				var res *notesv1.WatchNotesResponse
				if res, err = stream.Receive(); err != nil {
					break
				}
				w.receive(res)
			}
			if errors.Is(err, io.EOF) {
				err = nil
			}
			stream.Close()
		}
		if ctx.Err() != nil {
			err = nil // ended by the run, not the cluster
		}
		end(err)
		cancel()
		w.call++
		if err != nil && connect.CodeOf(err) != connect.CodeDeadlineExceeded && !pause(ctx, retryPause) {
			return
		}
	}
}

func (w *watcher) receive(m *notesv1.WatchNotesResponse) {
	w.after, w.epoch = m.GetSequence(), m.GetEpoch()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deliveries = append(w.deliveries, delivery{
		message:  m.GetNote().GetMessage(),
		location: geo.PointOf(m.GetNote().GetLocation()),
		seq:      m.GetSequence(),
		call:     w.call,
	})
	w.seen[m.GetNote().GetMessage()] = true
}

// holds reports whether the watcher's area holds p.
func (w *watcher) holds(p geo.Point) bool {
	return w.area == nil || geo.BoundsOf(w.area).Contains(p)
}

// missing counts the notes of acked in the watcher's area that it has not
// been delivered.
func (w *watcher) missing(acked []ackedNote) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, a := range acked {
		if w.holds(a.location) && !w.seen[a.message] {
			n++
		}
	}
	return n
}

// history returns the watcher's feed for the checker.
func (w *watcher) history() watcherHistory {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := watcherHistory{name: w.name, deliveries: append([]delivery(nil), w.deliveries...)}
	if w.area != nil {
		b := geo.BoundsOf(w.area)
		h.area = &b
	}
	return h
}
