package server

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// progressGuard ends a call whose client stops taking part: a read that
// waits longer than the idle timeout, or a write that makes no progress for
// the write timeout, is cut off through the request's deadlines. Timers run
// only around reads and writes, so a quiet stream that is not waiting on its
// client costs nothing, and nothing is posted to the HTTP/2 server's loop
// unless a timer fires.
type progressGuard struct {
	controller   *http.ResponseController
	idleTimeout  time.Duration
	writeTimeout time.Duration

	readTimer, writeTimer *time.Timer // made on first use

	// mu keeps deadlines from being set once the request has been served:
	// the writer is no longer valid then.
	mu       sync.Mutex
	finished bool
	// readCutOff is set once reads have been cut off; idle says whether it
	// was for lack of a message rather than because the call was ending.
	readCutOff atomic.Bool
	idle       atomic.Bool
}

type progressGuardKey struct{}

// guardProgress installs a progressGuard on every request.
func guardProgress(next http.Handler, idleTimeout, writeTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := &progressGuard{
			controller:   http.NewResponseController(w),
			idleTimeout:  idleTimeout,
			writeTimeout: writeTimeout,
		}
		defer g.finish()
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &guardedBody{ReadCloser: r.Body, guard: g}
		}
		r = r.WithContext(context.WithValue(r.Context(), progressGuardKey{}, g))
		next.ServeHTTP(&guardedWriter{ResponseWriter: w, guard: g}, r)
	})
}

// progressGuardFrom returns the request's guard, or nil outside a request
// served through guardProgress.
func progressGuardFrom(ctx context.Context) *progressGuard {
	g, _ := ctx.Value(progressGuardKey{}).(*progressGuard)
	return g
}

// cutOffReads makes the reads in progress and all later ones fail at once.
func (g *progressGuard) cutOffReads(idle bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.finished || g.readCutOff.Load() {
		return
	}
	g.idle.Store(idle)
	g.readCutOff.Store(true)
	_ = g.controller.SetReadDeadline(time.Now())
}

// cutOffWrites makes the write in progress and all later ones fail, which
// resets the stream.
func (g *progressGuard) cutOffWrites() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.finished {
		_ = g.controller.SetWriteDeadline(time.Now())
	}
}

// idleTimedOut says whether reads were cut off because the client sent
// nothing for the idle timeout.
func (g *progressGuard) idleTimedOut() bool {
	return g.readCutOff.Load() && g.idle.Load()
}

// finish stops the guard once the request has been served.
func (g *progressGuard) finish() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.finished = true
	if g.readTimer != nil {
		g.readTimer.Stop()
	}
	if g.writeTimer != nil {
		g.writeTimer.Stop()
	}
}

// watch arms *timer for d before an operation; the caller stops it after.
func watch(timer **time.Timer, d time.Duration, onTimeout func()) {
	if *timer == nil {
		*timer = time.AfterFunc(d, onTimeout)
		return
	}
	(*timer).Reset(d)
}

type guardedBody struct {
	io.ReadCloser
	guard *progressGuard
}

func (b *guardedBody) Read(p []byte) (int, error) {
	g := b.guard
	watch(&g.readTimer, g.idleTimeout, func() { g.cutOffReads(true) })
	n, err := b.ReadCloser.Read(p)
	g.readTimer.Stop()
	return n, err
}

type guardedWriter struct {
	http.ResponseWriter
	guard *progressGuard
}

func (w *guardedWriter) Write(p []byte) (int, error) {
	g := w.guard
	watch(&g.writeTimer, g.writeTimeout, g.cutOffWrites)
	n, err := w.ResponseWriter.Write(p)
	g.writeTimer.Stop()
	return n, err
}

// Flush implements http.Flusher, which connect-go needs for streams.
func (w *guardedWriter) Flush() {
	g := w.guard
	watch(&g.writeTimer, g.writeTimeout, g.cutOffWrites)
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	g.writeTimer.Stop()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *guardedWriter) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}
