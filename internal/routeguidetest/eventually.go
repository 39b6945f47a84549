package routeguidetest

import "time"

// pollEvery is how often Eventually looks at its condition: often enough
// that a test ends soon after the thing it waits for, seldom enough not to
// load a machine that other tests share.
const pollEvery = 10 * time.Millisecond

// Eventually looks at cond until it reports true, and reports whether it
// did before timeout passed. It is for a test that waits on something it
// can only observe from outside (a log record, a process's output, a
// server's answer); the timeout is a bound for a broken run, not the time
// a passing run takes, so make it generous.
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}
