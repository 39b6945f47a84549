package observe

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// cancelledInterval is how often, at most, the access log writes the
// record of a call its client cancelled. A burst of HTTP/2 rapid resets
// cancels thousands of calls in a fraction of a second; a record for each
// would flood the log (20,000 lines from an 80 ms burst) at the attacker's
// command.
const cancelledInterval = time.Second

// cancelledCalls thins out the records of calls their clients cancelled
// after sending something: one record a second names a call, and says
// how many such calls went unrecorded since the one before; a record of
// the count alone follows a burst, once its second is over.
type cancelledCalls struct {
	logger *slog.Logger

	mu         sync.Mutex // protects the fields below
	last       time.Time  // when a cancelled call was last recorded
	suppressed int64      // cancelled calls not recorded since
	pending    bool       // a timer will record the count
}

// admit reports whether to write the record of a call cancelled now, and
// how many cancelled calls went unrecorded before it.
func (c *cancelledCalls) admit(now time.Time) (write bool, suppressed int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.last) >= cancelledInterval {
		c.last = now
		suppressed, c.suppressed = c.suppressed, 0
		return true, suppressed
	}
	c.suppressed++
	if !c.pending {
		c.pending = true
		time.AfterFunc(cancelledInterval-now.Sub(c.last), c.flush)
	}
	return false, 0
}

// flush records how many cancelled calls went unrecorded, if any did since
// the last record.
func (c *cancelledCalls) flush() {
	c.mu.Lock()
	n := c.suppressed
	c.suppressed, c.pending = 0, false
	if n > 0 {
		c.last = time.Now()
	}
	c.mu.Unlock()
	if n > 0 {
		c.logger.LogAttrs(context.Background(), slog.LevelInfo, "rpcs cancelled by their clients, not recorded one by one",
			slog.Int64("count", n), slog.Duration("within", cancelledInterval))
	}
}
