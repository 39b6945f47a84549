package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect/v2"
)

// connect-go flushes the response after every message a handler sends, so
// that each message reaches the client at once. On net/http that costs a
// hand-off to the connection's writer and often a system call per message,
// which bounds a stream of small messages, such as ListFeatures, to a tenth
// of what the connection can carry. The types here take those flushes over:
// a fast path, and it pays (BENCHMARKS.md, "The fast paths": without it a
// ListFeatures message cost 3.8× the server CPU).

// flushWindow is the longest a message waits for company: after a flush,
// those asked for within flushWindow are put off until it has passed, and
// made as one. A flush after a quiet spell happens at once, so a lone
// message is not delayed at all.
const flushWindow = 500 * time.Microsecond

// coalesceFlushes serves call, a procedure that streams responses, with
// its flushes coalesced, and any other over HTTP/2 with the flushes after
// a message dropped: net/http then sends the response whole, trailers and
// all, in fewer frames, when the handler returns. Over HTTP/1.1 the flush
// stays: net/http would otherwise send a Content-Length and no trailers.
func coalesceFlushes(w http.ResponseWriter, r *http.Request, call *Call, next http.Handler) {
	if call.StreamType&connect.StreamTypeServer == 0 {
		if r.ProtoMajor >= 2 {
			w = &noFlushWriter{ResponseWriter: w}
		}
		next.ServeHTTP(w, r)
		return
	}
	// w is the call's guardedWriter, or the text form's Writer around it.
	c := &flushCoalescer{ResponseWriter: w, flusher: w.(http.Flusher), ctx: r.Context()}
	c.guarded, _ = w.(*guardedWriter)
	defer c.finish()
	call.flushes = c
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &flushingBody{ReadCloser: r.Body, c: c}
	}
	next.ServeHTTP(c, r)
}

// noFlushWriter drops the flushes made once a message is written. A flush
// before any, that of an error's headers, goes through: net/http would
// otherwise announce "content-length: 0" ahead of the trailers, which
// HAProxy 2.6 then sometimes drops (see [WriteError]).
type noFlushWriter struct {
	http.ResponseWriter
	wrote bool // whether any of the body was written
}

func (w *noFlushWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

func (w *noFlushWriter) Flush() {
	if !w.wrote {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Unwrap lets [http.ResponseController] reach the connection's writer.
func (w *noFlushWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// flushCoalescer is a ResponseWriter whose flushes are coalesced: the first
// after a quiet spell goes through and opens a window, and later ones
// within it are merged into one made when it closes, which opens the next;
// meanwhile messages gather in net/http's buffer. A pending flush is also
// made before the handler reads the request, since the client may be
// waiting for the replies. The window is a timer, which costs less than a
// clock reading a message. The timer's flush uses the writer under mu, and
// finish keeps it from doing so once the handler has returned.
//
// Once the request's context is done, the client has reset the stream or
// gone: flushes are dropped, since each would wait for the connection's
// loop to write what no one will read, and a flood of reset streams would
// make every handler wait on that loop twice.
type flushCoalescer struct {
	// The fields a direct write uses come first, in its first 32 bytes,
	// which are in one cache line whatever the allocation's place in its
	// size class: a watcher woken to write a note finds the coalescer out
	// of cache (BENCHMARKS.md, "Watchers and fan-out: round eight").

	// mu protects the use of ResponseWriter and open, pending, done,
	// manual, ctxDone and timer; guarded is set before any use.
	mu      sync.Mutex
	open    bool // whether a window is open: the timer will fire
	pending bool // whether a flush was asked for and not yet made
	done    bool // whether the handler has returned
	// manual says the handler makes the flushes: see [TakeFlushes].
	manual bool
	// ctxDone is ctx's Done, once goneLocked has asked for it: its channel is
	// one a waiting handler has just used, where ctx.Err reads the
	// context itself, a cache line of its own a delivery to a thousand
	// watchers misses a thousand times (BENCHMARKS.md, "Watchers and
	// fan-out: round six").
	ctxDone <-chan struct{}
	// guarded is ResponseWriter when it is the call's guardedWriter, which
	// can write and flush as one watched operation; nil if it is not.
	guarded *guardedWriter
	timer   *time.Timer

	http.ResponseWriter
	flusher http.Flusher
	ctx     context.Context // the request's
}

// TakeFlushes hands the flushes of the stream of ctx to its handler: from
// the call on, the flushes after messages and headers wait until the
// handler calls flush, so that several messages sent at once go in one
// write, and a lone one at once, with no window opened. The handler must
// call flush after what it sends; what is left is flushed when it returns.
// Without flush coalescing ([Stack.Handler]), flush does nothing and each
// message is flushed as it is sent, as connect-go does.
func TakeFlushes(ctx context.Context) (flush func()) {
	call, ok := CallOf(ctx)
	if !ok || call.flushes == nil {
		return func() {}
	}
	c := call.flushes
	c.mu.Lock()
	c.manual = true
	c.mu.Unlock()
	return c.flushNow
}

// Direct writes bytes straight to the response of one stream, below
// connect-go: to its call's guarded writer (and the text form's encoder,
// for gRPC-Web text), skipping connect-go's envelope, codec and flush. A
// handler whose stream sends the same message to many clients, framed once
// for all, writes the frame itself with it (BENCHMARKS.md, "Watchers and
// fan-out: round four"). Get one with [DirectOf].
type Direct struct {
	c *flushCoalescer
}

// errFinished is what a direct write made once the handler has returned
// gets: the response is no longer the handler's to write.
var errFinished = errors.New("the stream's handler has returned")

// DirectOf returns the direct writer of the stream of ctx, whose handler
// must have taken its flushes ([TakeFlushes]) and sent its headers, and
// whether it has one: a stream whose flushes are not coalesced (HTTP/1.1
// without fast paths, a unary call) has none. What the handler writes must
// be whole messages in the framing of the call's protocol and encoding,
// such as connect-go would have written; the flush TakeFlushes returned
// sends them.
func DirectOf(ctx context.Context) (Direct, bool) {
	call, ok := CallOf(ctx)
	if !ok || call.flushes == nil {
		return Direct{}, false
	}
	c := call.flushes
	c.mu.Lock()
	defer c.mu.Unlock()
	return Direct{c}, c.manual
}

// Write writes p to the response, to be flushed at the handler's next
// flush. It fails once the handler has returned.
func (d Direct) Write(p []byte) (int, error) {
	c := d.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return 0, errFinished
	}
	c.pending = true
	return c.ResponseWriter.Write(p)
}

// WriteAndFlush writes p to the response and flushes it at once, with
// what was written before it, as the handler's flush would: one lock and
// one operation for the call's write watch, where a write and then a flush
// take two of each. A watch delivering one note to each of a thousand
// watchers makes a thousand of them. It fails once the handler has
// returned.
func (d Direct) WriteAndFlush(p []byte) (int, error) {
	c := d.c
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.done:
		return 0, errFinished
	case c.goneLocked():
		// Reset or gone: no flush, as flushNow.
		c.pending = true
		return c.ResponseWriter.Write(p)
	case c.guarded != nil:
		c.pending = false
		return c.guarded.writeAndFlush(p)
	}
	n, err := c.ResponseWriter.Write(p)
	c.flushLocked()
	return n, err
}

// goneLocked reports whether the request's context is done: the client
// reset the stream or went away. Only a handler that took its flushes
// asks, WatchNotes's, which waits on Done anyway. The caller holds c.mu.
func (c *flushCoalescer) goneLocked() bool {
	if c.ctxDone == nil {
		c.ctxDone = c.ctx.Done()
	}
	select {
	case <-c.ctxDone:
		return true
	default:
		return false
	}
}

// flushNow makes the flushes put off, if any, at once.
func (c *flushCoalescer) flushNow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending && !c.done && !c.goneLocked() {
		c.flushLocked()
	}
}

func (c *flushCoalescer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ResponseWriter.Write(p)
}

func (c *flushCoalescer) WriteHeader(code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ResponseWriter.WriteHeader(code)
}

// Flush flushes now and opens a window, unless one is open: then the flush
// waits for the window to close. Errors from a deferred flush surface on
// the next write, as net/http's own do.
func (c *flushCoalescer) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	// ctx.Err, not goneLocked: asking for Done would make a channel for
	// every stream that flushes, which a chat left open then holds.
	if c.done || c.ctx.Err() != nil {
		return
	}
	if c.open || c.manual {
		c.pending = true
		return
	}
	c.flushLocked()
	c.openWindowLocked()
}

func (c *flushCoalescer) openWindowLocked() {
	c.open = true
	if c.timer == nil {
		c.timer = time.AfterFunc(flushWindow, c.closeWindow)
	} else {
		c.timer.Reset(flushWindow)
	}
}

// Unwrap lets [http.ResponseController] reach the connection's writer for
// deadlines and the like. Its flushes go through Flush.
func (c *flushCoalescer) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// closeWindow makes the flush put off during the window, if any, and opens
// the next window for the flushes after it.
func (c *flushCoalescer) closeWindow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open = false
	if c.pending && !c.done && !c.manual {
		c.flushLocked()
		c.openWindowLocked()
	}
}

// flushPending makes a flush that was put off, at once, unless a write or
// flush is under way, which may be blocked on a client that waits for us
// to read: the timer makes the flush then.
func (c *flushCoalescer) flushPending() {
	if !c.mu.TryLock() {
		return
	}
	defer c.mu.Unlock()
	if c.pending && !c.done {
		c.flushLocked()
	}
}

func (c *flushCoalescer) flushLocked() {
	c.flusher.Flush()
	c.pending = false
}

// finish stops deferred flushes; the server flushes what is left when the
// handler returns. Once it returns, the underlying writer is not touched.
func (c *flushCoalescer) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
	if c.timer != nil {
		c.timer.Stop()
	}
}

// flushingBody makes any pending flush before each read of the request.
type flushingBody struct {
	io.ReadCloser
	c *flushCoalescer
}

func (b *flushingBody) Read(p []byte) (int, error) {
	b.c.flushPending()
	return b.ReadCloser.Read(p)
}
