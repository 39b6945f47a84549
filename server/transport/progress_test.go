package transport

import (
	"net/http/httptest"
	"testing"
	"time"
)

// newWatchedGuard returns a call's life whose read watch has the given
// timeout, over a recorder: cutting off sets the life's flags, which is
// what these tests look at.
func newWatchedGuard(t *testing.T, timeout time.Duration) *callLife {
	g := &callLife{w: httptest.NewRecorder(), limits: &Limits{}}
	g.reads = progressWatch{life: g, timeout: timeout, reads: true}
	t.Cleanup(g.finish)
	return g
}

// waitCutOff waits up to limit for the guard's reads to be cut off, and
// returns how long that took.
func waitCutOff(t *testing.T, g *callLife, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !g.readCutOff.Load() {
		if time.Since(start) > limit {
			t.Fatalf("reads not cut off within %v", limit)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

func TestProgressWatchCutsOffAStalledOperation(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	g := newWatchedGuard(t, timeout)
	g.reads.begin()
	elapsed := waitCutOff(t, g, 10*timeout)
	if elapsed < timeout {
		t.Errorf("cut off after %v, before the timeout of %v", elapsed, timeout)
	}
	if !g.idleTimedOut() {
		t.Error("cut off, but not for lack of progress")
	}
	t.Logf("cut off after %v (timeout %v)", elapsed, timeout)
}

// TestProgressWatchSparesShortOperations checks that operations that each
// end well within the timeout are never cut off, however long they go on:
// the timer ticks through them and must tell one from the next.
func TestProgressWatchSparesShortOperations(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	g := newWatchedGuard(t, timeout)
	for end := time.Now().Add(4 * timeout); time.Now().Before(end); {
		g.reads.begin()
		time.Sleep(timeout / 20)
		g.reads.end()
		time.Sleep(timeout / 20)
	}
	if g.readCutOff.Load() {
		t.Fatal("operations that each took a twentieth of the timeout were cut off")
	}
	// The same watch still cuts off one that stalls, and not before the
	// timeout, though the timer was ticking when it started.
	g.reads.begin()
	if elapsed := waitCutOff(t, g, 10*timeout); elapsed < timeout {
		t.Errorf("cut off after %v, before the timeout of %v", elapsed, timeout)
	}
}

func TestProgressWatchDeadline(t *testing.T) {
	t.Parallel()
	t.Run("cuts off the operation in progress", func(t *testing.T) {
		t.Parallel()
		g := newWatchedGuard(t, time.Hour)
		g.reads.begin()
		g.reads.setDeadline(time.Now().Add(50 * time.Millisecond))
		waitCutOff(t, g, 5*time.Second)
		if g.idleTimedOut() {
			t.Error("cut off at the deadline, but reported as idle")
		}
	})
	t.Run("cuts off operations that start after it", func(t *testing.T) {
		t.Parallel()
		g := newWatchedGuard(t, time.Hour)
		g.reads.setDeadline(time.Now().Add(20 * time.Millisecond))
		for start := time.Now(); !g.reads.pastDeadline.Load(); time.Sleep(time.Millisecond) {
			if time.Since(start) > 5*time.Second {
				t.Fatal("the deadline's timer did not fire within 5s")
			}
		}
		if g.readCutOff.Load() {
			t.Fatal("cut off with no operation in progress")
		}
		g.reads.begin()
		if !g.readCutOff.Load() {
			t.Fatal("an operation after the deadline was not cut off as it started")
		}
	})
}

func TestProgressWatchStops(t *testing.T) {
	t.Parallel()
	g := newWatchedGuard(t, 50*time.Millisecond)
	g.reads.begin()
	g.finish()
	time.Sleep(300 * time.Millisecond)
	if g.readCutOff.Load() {
		t.Fatal("a finished guard cut off its reads")
	}
}
