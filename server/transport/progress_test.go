package transport

import (
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/routeguide/routeguide/server/limits"
)

// The progress watch runs on timers alone, so these tests run it in a
// synctest bubble: the clock moves only when every goroutine of the bubble
// is blocked, which makes "not cut off before the timeout" exact rather
// than a hope about the scheduler. Each time.Sleep below moves that fake
// clock; none of them waits for anything.

// newWatchedGuard returns a call's life whose read watch has the given timeout,
// over a recorder: cutting off sets the guard's flags, which is what these
// tests look at.
func newWatchedGuard(t *testing.T, timeout time.Duration) *callLife {
	g := &callLife{w: httptest.NewRecorder(), limits: &limits.Limits{}}
	g.reads = progressWatch{life: g, timeout: timeout, reads: true}
	t.Cleanup(g.finish)
	return g
}

// untilCutOff moves the bubble's clock a millisecond at a time until the
// guard's reads are cut off, up to limit, and returns how long that took.
func untilCutOff(t *testing.T, g *callLife, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for synctest.Wait(); !g.readCutOff.Load(); synctest.Wait() {
		if time.Since(start) > limit {
			t.Fatalf("reads not cut off within %v", limit)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// wantCutOffWithinATick fails unless elapsed lies between timeout and the
// quarter of it more that the watch's ticks allow.
func wantCutOffWithinATick(t *testing.T, elapsed, timeout time.Duration) {
	t.Helper()
	if elapsed < timeout || elapsed > timeout+timeout/ticksPerTimeout+time.Millisecond {
		t.Errorf("cut off after %v, want between the timeout of %v and a tick more", elapsed, timeout)
	}
}

func TestProgressWatchCutsOffAStalledOperation(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const timeout = 200 * time.Millisecond
		g := newWatchedGuard(t, timeout)
		g.reads.begin()
		wantCutOffWithinATick(t, untilCutOff(t, g, 10*timeout), timeout)
		if !g.idleTimedOut() {
			t.Error("cut off, but not for lack of progress")
		}
	})
}

// TestProgressWatchSparesShortOperations checks that operations that each
// end well within the timeout are never cut off, however long they go on:
// the timer ticks through them and must tell one from the next.
func TestProgressWatchSparesShortOperations(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const timeout = 300 * time.Millisecond
		g := newWatchedGuard(t, timeout)
		for end := time.Now().Add(4 * timeout); time.Now().Before(end); {
			g.reads.begin()
			time.Sleep(timeout / 20)
			g.reads.end()
			time.Sleep(timeout / 20)
		}
		synctest.Wait()
		if g.readCutOff.Load() {
			t.Fatal("operations that each took a twentieth of the timeout were cut off")
		}
		// The same watch still cuts off one that stalls, and not before the
		// timeout, though the timer was ticking when it started.
		g.reads.begin()
		if elapsed := untilCutOff(t, g, 10*timeout); elapsed < timeout {
			t.Errorf("cut off after %v, before the timeout of %v", elapsed, timeout)
		}
	})
}

func TestProgressWatchDeadline(t *testing.T) {
	t.Parallel()
	t.Run("cuts off the operation in progress", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			const deadline = 50 * time.Millisecond
			g := newWatchedGuard(t, time.Hour)
			g.reads.begin()
			g.reads.setDeadline(time.Now().Add(deadline))
			if elapsed := untilCutOff(t, g, 5*time.Second); elapsed != deadline {
				t.Errorf("cut off after %v, want at the deadline, %v", elapsed, deadline)
			}
			if g.idleTimedOut() {
				t.Error("cut off at the deadline, but reported as idle")
			}
		})
	})
	t.Run("cuts off operations that start after it", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			const deadline = 20 * time.Millisecond
			g := newWatchedGuard(t, time.Hour)
			g.reads.setDeadline(time.Now().Add(deadline))
			time.Sleep(deadline)
			synctest.Wait()
			if !g.reads.pastDeadline.Load() {
				t.Fatal("the deadline's timer did not fire at the deadline")
			}
			if g.readCutOff.Load() {
				t.Fatal("cut off with no operation in progress")
			}
			g.reads.begin()
			if !g.readCutOff.Load() {
				t.Fatal("an operation after the deadline was not cut off as it started")
			}
		})
	})
}

// TestProgressWatchStall checks the stall limit of OnWriteStall: an
// operation stuck for it is reported once, between the limit and a quarter
// more, and still cut off at the timeout, within a tick of the stall's
// length; operations that each end sooner, however many, are not reported.
func TestProgressWatchStall(t *testing.T) {
	t.Parallel()
	const timeout, limit = time.Second, 200 * time.Millisecond
	t.Run("stuck", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			g := newWatchedGuard(t, timeout)
			start := time.Now()
			var stalls atomic.Int32
			var stalledAt atomic.Int64
			g.reads.setStall(limit, func() {
				stalls.Add(1)
				stalledAt.Store(int64(time.Since(start)))
			})
			g.reads.begin()
			elapsed := untilCutOff(t, g, 10*timeout)
			if elapsed < timeout || elapsed > timeout+limit/ticksPerTimeout+time.Millisecond {
				t.Errorf("cut off after %v, want between the timeout of %v and a tick of %v more", elapsed, timeout, limit/ticksPerTimeout)
			}
			if got := time.Duration(stalledAt.Load()); got < limit || got > limit+limit/ticksPerTimeout {
				t.Errorf("stall reported after %v, want between %v and a quarter more", got, limit)
			}
			if n := stalls.Load(); n != 1 {
				t.Errorf("stall reported %d times, want once", n)
			}
		})
	})
	t.Run("set while the timer ticks", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			// An operation before the limit is set starts the timer
			// on the timeout's ticks, a quarter of an hour apart.
			g := newWatchedGuard(t, time.Hour)
			g.reads.begin()
			g.reads.end()
			start := time.Now()
			stalled := make(chan time.Duration, 1)
			g.reads.setStall(limit, func() { stalled <- time.Since(start) })
			g.reads.begin()
			time.Sleep(2 * limit)
			synctest.Wait()
			select {
			case got := <-stalled:
				if got < limit || got > limit+limit/ticksPerTimeout {
					t.Errorf("stall reported after %v, want between %v and a quarter more", got, limit)
				}
			default:
				t.Errorf("no stall reported within %v of a limit of %v", 2*limit, limit)
			}
		})
	})
	t.Run("progressing", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			g := newWatchedGuard(t, timeout)
			var stalls atomic.Int32
			g.reads.setStall(limit, func() { stalls.Add(1) })
			for end := time.Now().Add(3 * timeout); time.Now().Before(end); {
				g.reads.begin()
				time.Sleep(limit / 2)
				g.reads.end()
			}
			synctest.Wait()
			if n := stalls.Load(); n != 0 || g.readCutOff.Load() {
				t.Errorf("operations of half the stall limit each: %d stalls reported, cut off %v; want none", n, g.readCutOff.Load())
			}
		})
	})
}

// TestProgressWatchStops checks that a finished guard cuts nothing off. A
// twin guard, left running through the same span of the clock, proves
// that the span was long enough for a cut-off to be seen.
func TestProgressWatchStops(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const timeout = 50 * time.Millisecond
		finished, running := newWatchedGuard(t, timeout), newWatchedGuard(t, timeout)
		finished.reads.begin()
		running.reads.begin()
		finished.finish()
		untilCutOff(t, running, 10*timeout)
		time.Sleep(10 * timeout)
		synctest.Wait()
		if finished.readCutOff.Load() {
			t.Fatal("a finished guard cut off its reads")
		}
	})
}

// BenchmarkProgressWatch is what the watch adds to each read or write of a
// call (a begin and an end), beside a watch that reads the clock at the
// start of each operation, the least a watch that times operations itself
// would do: BENCHMARKS.md sets the difference against a ListFeatures
// message, which takes two watched writes (the message and its flush).
func BenchmarkProgressWatch(b *testing.B) {
	b.Run("watch=timer", func(b *testing.B) {
		g := &callLife{w: httptest.NewRecorder(), limits: &limits.Limits{}}
		g.write = progressWatch{life: g, timeout: 30 * time.Second}
		defer g.write.stop()
		b.ReportAllocs()
		for b.Loop() {
			g.write.begin()
			g.write.end()
		}
	})
	b.Run("watch=clock", func(b *testing.B) {
		var started atomic.Int64
		b.ReportAllocs()
		for b.Loop() {
			started.Store(clock(time.Now()))
			started.Store(0)
		}
	})
}
