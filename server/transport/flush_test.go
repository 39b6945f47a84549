package transport

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/server/limits"
)

// flushRecorder is a ResponseWriter that records what a client would have
// received: the bytes written up to each flush.
type flushRecorder struct {
	*httptest.ResponseRecorder
	mu      sync.Mutex
	flushed []string // the body as of each flush
}

func newFlushRecorder() *flushRecorder {
	return &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
}

func (r *flushRecorder) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushed = append(r.flushed, r.Body.String())
}

func (r *flushRecorder) flushes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.flushed...)
}

// serveCoalesced runs handler behind coalesceFlushes as a streaming
// procedure, recording into rec.
func serveCoalesced(rec *flushRecorder, body io.Reader, handler http.HandlerFunc) {
	req := httptest.NewRequest(http.MethodPost, "/stream", body)
	coalesceFlushes(rec, req, &Call{StreamType: connect.StreamTypeServer}, handler)
}

func send(w http.ResponseWriter, message string) {
	io.WriteString(w, message)
	w.(http.Flusher).Flush()
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}

// TestFlushCoalescerTiming checks, on synctest's fake clock, when flushes
// reach the connection: the first at once, later ones within the window
// merged and made when it closes, and a message after a quiet spell at once
// again.
func TestFlushCoalescerTiming(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := newFlushRecorder()
		checkpoints := make(chan []string, 8)
		serveCoalesced(rec, http.NoBody, func(w http.ResponseWriter, r *http.Request) {
			check := func() { synctest.Wait(); checkpoints <- rec.flushes() }
			send(w, "a") // after a quiet spell: at once
			check()
			send(w, "b") // within the window: put off
			send(w, "c")
			check()
			time.Sleep(flushWindow - time.Nanosecond)
			check() // not yet
			time.Sleep(time.Nanosecond)
			check() // the window has closed: b and c together
			time.Sleep(flushWindow)
			send(w, "d") // after a quiet spell: at once
			check()
		})
		close(checkpoints)
		want := [][]string{
			{"a"},
			{"a"},
			{"a"},
			{"a", "abc"},
			{"a", "abc", "abcd"},
		}
		i := 0
		for got := range checkpoints {
			if !equalStrings(got, want[i]) {
				t.Errorf("checkpoint %d: flushed %q, want %q", i, got, want[i])
			}
			i++
		}
	})
}

// TestFlushCoalescerNothingAfterReturn checks that a flush put off when the
// handler returns is not made afterwards, when the writer belongs to the
// server again; the server flushes the rest itself.
func TestFlushCoalescerNothingAfterReturn(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := newFlushRecorder()
		serveCoalesced(rec, http.NoBody, func(w http.ResponseWriter, r *http.Request) {
			send(w, "a")
			send(w, "b")
		})
		time.Sleep(10 * flushWindow)
		synctest.Wait()
		if got, want := rec.flushes(), []string{"a"}; !equalStrings(got, want) {
			t.Errorf("flushed %q, want %q", got, want)
		}
		if got, want := rec.Body.String(), "ab"; got != want {
			t.Errorf("body %q, want %q", got, want)
		}
	})
}

// TestFlushCoalescerDropsFlushesOnceCancelled checks that a stream whose
// client has gone, such as one it reset, flushes nothing more: each flush
// would wait on the connection's loop for nothing.
func TestFlushCoalescerDropsFlushesOnceCancelled(t *testing.T) {
	t.Parallel()
	// On synctest's fake clock, the window that "a" opens has surely closed
	// when "b" is sent, so that "b" would be flushed at once if it were not
	// dropped.
	synctest.Test(t, func(t *testing.T) {
		rec := newFlushRecorder()
		ctx, cancel := context.WithCancel(t.Context())
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/stream", http.NoBody)
		coalesceFlushes(rec, req, &Call{StreamType: connect.StreamTypeServer}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			send(w, "a")
			cancel()
			time.Sleep(2 * flushWindow)
			send(w, "b")
		}))
		if got, want := rec.flushes(), []string{"a"}; !equalStrings(got, want) {
			t.Errorf("flushed %q, want %q", got, want)
		}
	})
}

// TestFlushCoalescerFlushesBeforeRead checks that replies put off are
// flushed before the handler reads the request, on which it may wait for a
// client that is waiting for them.
func TestFlushCoalescerFlushesBeforeRead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := newFlushRecorder()
		var atRead []string
		serveCoalesced(rec, strings.NewReader("request"), func(w http.ResponseWriter, r *http.Request) {
			send(w, "a")
			send(w, "b")
			buf := make([]byte, 3)
			if _, err := r.Body.Read(buf); err != nil {
				t.Errorf("read: %v", err)
			}
			atRead = rec.flushes()
		})
		if want := []string{"a", "ab"}; !equalStrings(atRead, want) {
			t.Errorf("flushed %q by the read, want %q", atRead, want)
		}
	})
}

// TestFlushesDroppedForUnary checks that unary procedures never flush over
// HTTP/2, where the server sends the response whole when the handler
// returns, and still do over HTTP/1.1, where an unflushed response gets a
// Content-Length and so cannot carry gRPC's trailers.
func TestFlushesDroppedForUnary(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		protoMajor int
		wantFlush  bool
	}{{2, false}, {1, true}} {
		rec := newFlushRecorder()
		req := httptest.NewRequest(http.MethodPost, "/unary", http.NoBody)
		req.ProtoMajor = tt.protoMajor
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			send(w, "a")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("ResponseController.Flush: %v", err)
			}
		})
		coalesceFlushes(rec, req, &Call{StreamType: connect.StreamTypeUnary}, handler)
		if got := rec.flushes(); (len(got) > 0) != tt.wantFlush {
			t.Errorf("HTTP/%d: flushed %q, want flushes: %v", tt.protoMajor, got, tt.wantFlush)
		}
		if got, want := rec.Body.String(), "a"; got != want {
			t.Errorf("HTTP/%d: body %q, want %q", tt.protoMajor, got, want)
		}
	}
}

// TestFlushCoalescerUnwraps checks that http.ResponseController reaches the
// connection through the coalescer, and that its flushes are coalesced too.
func TestFlushCoalescerUnwraps(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := newFlushRecorder()
		serveCoalesced(rec, http.NoBody, func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			for _, m := range []string{"a", "b"} {
				io.WriteString(w, m)
				if err := rc.Flush(); err != nil {
					t.Errorf("ResponseController.Flush: %v", err)
				}
			}
			// The recorder has no deadlines: the error must come from it,
			// reached through Unwrap, not from the coalescer.
			if err := rc.SetWriteDeadline(time.Now()); err == nil {
				t.Error("SetWriteDeadline reached no writer")
			}
		})
		if got, want := rec.flushes(), []string{"a"}; !equalStrings(got, want) {
			t.Errorf("flushed %q, want %q", got, want)
		}
	})
}

// TestTakeFlushes checks that a handler that takes its stream's flushes
// has none made but its own, however long it waits, and each of its own at
// once; and that without a coalesced stream taking them changes nothing.
func TestTakeFlushes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := newFlushRecorder()
		checkpoints := make(chan []string, 8)
		req := httptest.NewRequest(http.MethodPost, "/stream", http.NoBody)
		call := &Call{Procedure: "/stream", StreamType: connect.StreamTypeServer, Known: true}
		req = req.WithContext(context.WithValue(req.Context(), callKey{}, call))
		coalesceFlushes(rec, req, call, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			check := func() { synctest.Wait(); checkpoints <- rec.flushes() }
			send(w, "a") // the headers, say: at once
			flush := TakeFlushes(r.Context())
			send(w, "b")
			send(w, "c")
			time.Sleep(10 * flushWindow)
			check() // no window flushes them
			flush()
			check() // b and c at once
			send(w, "d")
			flush()
			flush() // nothing left to flush
			check()
		}))
		close(checkpoints)
		want := [][]string{
			{"a"},
			{"a", "abc"},
			{"a", "abc", "abcd"},
		}
		i := 0
		for got := range checkpoints {
			if !equalStrings(got, want[i]) {
				t.Errorf("checkpoint %d: flushed %q, want %q", i, got, want[i])
			}
			i++
		}
	})

	// Without a call's coalescer, every message is flushed as sent.
	rec := newFlushRecorder()
	flush := TakeFlushes(t.Context())
	send(rec, "a")
	flush()
	if got, want := rec.flushes(), []string{"a"}; !equalStrings(got, want) {
		t.Errorf("without a coalescer: flushed %q, want %q", got, want)
	}
}

// TestDirect checks that a handler's direct writes go out, between its
// stream's own messages and in order, at its flushes alone or at once with
// WriteAndFlush; that a stream whose flushes its handler has not taken has
// no direct writer; and that a direct write once the handler has returned
// fails. Over a call's guarded writer, WriteAndFlush is one operation of
// its write watch.
func TestDirect(t *testing.T) {
	t.Parallel()
	if _, ok := DirectOf(t.Context()); ok {
		t.Error("DirectOf a context with no call: ok, want none")
	}
	for _, guarded := range []bool{false, true} {
		t.Run(fmt.Sprintf("guarded=%v", guarded), func(t *testing.T) {
			t.Parallel()
			rec := newFlushRecorder()
			var w http.ResponseWriter = rec
			life := &callLife{w: rec, limits: &limits.Limits{}}
			life.write = progressWatch{life: life, timeout: time.Hour}
			defer life.finish()
			if guarded {
				life.writer = guardedWriter{ResponseWriter: rec, watch: &life.write}
				w = &life.writer
			}
			req := httptest.NewRequest(http.MethodPost, "/stream", http.NoBody)
			call := &Call{Procedure: "/stream", StreamType: connect.StreamTypeServer, Known: true}
			req = req.WithContext(context.WithValue(req.Context(), callKey{}, call))
			var direct Direct
			coalesceFlushes(w, req, call, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, ok := DirectOf(r.Context()); ok {
					t.Error("DirectOf a stream whose flushes are not taken: ok, want none")
				}
				flush := TakeFlushes(r.Context())
				var ok bool
				if direct, ok = DirectOf(r.Context()); !ok {
					t.Fatal("DirectOf a stream whose flushes are taken: none")
				}
				send(w, "a")
				if _, err := direct.Write([]byte("b")); err != nil {
					t.Errorf("direct write: %v", err)
				}
				send(w, "c")
				flush()
				if _, err := direct.Write([]byte("d")); err != nil {
					t.Errorf("direct write: %v", err)
				}
				flush()
				if _, err := direct.Write([]byte("e")); err != nil {
					t.Errorf("direct write: %v", err)
				}
				before := life.write.state.Load()
				if _, err := direct.WriteAndFlush([]byte("f")); err != nil {
					t.Errorf("direct write and flush: %v", err)
				}
				if got := life.write.state.Load() - before; guarded && got != 2 {
					t.Errorf("WriteAndFlush made %v operations of the write watch, want one", float64(got)/2)
				}
			}))
			if got, want := rec.flushes(), []string{"abc", "abcd", "abcdef"}; !equalStrings(got, want) {
				t.Errorf("flushed %q, want %q", got, want)
			}
			if _, err := direct.Write([]byte("g")); err == nil {
				t.Error("a direct write after the handler returned succeeded")
			}
			if _, err := direct.WriteAndFlush([]byte("g")); err == nil {
				t.Error("a direct write and flush after the handler returned succeeded")
			}
			if got, want := rec.Body.String(), "abcdef"; got != want {
				t.Errorf("body %q, want %q", got, want)
			}
		})
	}
}
