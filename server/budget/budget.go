// Package budget charges every write to its client and refuses the writes
// of a client over its budget: a token bucket per client, kept in this
// process ([Local]) or shared by every replica through NATS JetStream
// ([Shared]).
package budget

import (
	"time"

	"github.com/routeguide/routeguide/server/internal/defaults"
)

// DefaultRate and DefaultBurst are the defaults of [Policy]: a client may
// write DefaultBurst notes at once, then DefaultRate a minute. At that rate
// one client needs more than a day to turn over the default notes store
// (docs/security.md has the arithmetic), while the tutorial's clients, which
// send a handful of notes a run, never meet the limit.
const (
	DefaultRate  = 30
	DefaultBurst = 60
)

// Policy is the budget of every client.
type Policy struct {
	// Rate is how many writes a minute a client's budget regains, up to
	// Burst. Default [DefaultRate].
	Rate int
	// Burst is how many writes a client with a full budget may make at
	// once. Default [DefaultBurst].
	Burst int
}

func (p Policy) withDefaults() Policy {
	defaults.Set(&p.Rate, DefaultRate)
	defaults.Set(&p.Burst, DefaultBurst)
	return p
}

// interval is the time one write's share of the budget takes to come back.
func (p Policy) interval() int64 {
	return int64(time.Minute) / int64(p.Rate)
}

// Refill is how long an empty budget takes to fill again: a client idle for
// that long has a full budget, so it need not be remembered.
func (p Policy) Refill() time.Duration {
	p = p.withDefaults()
	return time.Duration(int64(p.Burst) * p.interval())
}

// Decision is the answer to one write.
type Decision struct {
	// Allowed is whether the write may go ahead; it has been charged.
	Allowed bool
	// RetryAfter is, when the write is refused, how long until the client
	// may write once more.
	RetryAfter time.Duration
	// Unshared is whether a [Shared] limiter decided alone, without the
	// budgets it shares with other replicas, because it could not reach
	// them in time.
	Unshared bool
	// Crowded is, for a refused write, that a [Shared] limiter could not
	// count it in time behind the same client's other writes, rather than
	// that the client's budget is spent.
	Crowded bool
}

// decide charges one write at now to a bucket whose state is tat, and
// returns the decision and the bucket's new state. The state is one
// number, the generic cell rate algorithm's theoretical arrival time: the
// moment the bucket would be full again (or earlier: a tat in the past is
// a full bucket). A write costs one interval of it; a bucket may run at
// most Burst intervals ahead of now.
func (p Policy) decide(tat, now int64) (Decision, int64) {
	t := p.interval()
	tat = max(tat, now)
	next := tat + t
	if limit := now + int64(p.Burst)*t; next > limit {
		return Decision{RetryAfter: time.Duration(next - limit)}, tat
	}
	return Decision{Allowed: true}, next
}
