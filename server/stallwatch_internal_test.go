package server

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestStallWatch checks the cut-off's timing in a bubble whose clock moves
// only when every goroutine in it waits: a send stuck for the limit is cut
// off before a quarter more has passed and not before the limit; one that
// makes progress, or that ended, is not; and an idle watch's timer stops.
func TestStallWatch(t *testing.T) {
	t.Parallel()
	const limit = time.Second
	for _, tc := range []struct {
		name string
		// send runs a send on w from the bubble's start and returns
		// whether it should have been cut off.
		send func(w *stallWatch) bool
	}{
		{"stuck", func(w *stallWatch) bool {
			w.begin()
			time.Sleep(2 * limit)
			return true
		}},
		{"progressing", func(w *stallWatch) bool {
			w.begin()
			for range 8 {
				time.Sleep(limit / 2)
				w.progress()
			}
			w.end()
			return false
		}},
		{"ended", func(w *stallWatch) bool {
			for range 8 {
				w.begin()
				time.Sleep(limit / 2)
				w.end()
			}
			time.Sleep(2 * limit)
			return false
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var cutAt atomic.Int64 // nanoseconds after start; 0: not cut
				start := time.Now()
				w := &stallWatch{limit: limit, cut: func() { cutAt.Store(int64(time.Since(start))) }}
				defer w.stop()
				want := tc.send(w)
				synctest.Wait()
				got := time.Duration(cutAt.Load())
				switch {
				case want && (got < limit || got > limit+limit/stallTicks):
					t.Errorf("cut off at %v, want between %v and %v", got, limit, limit+limit/stallTicks)
				case !want && got != 0:
					t.Errorf("cut off at %v, want never", got)
				}
				// A tick later, the timer has seen no send and stopped.
				time.Sleep(limit / stallTicks)
				synctest.Wait()
				if !want && w.ticking.Load() {
					t.Error("the timer still ticks after the sends ended")
				}
			})
		})
	}
}
