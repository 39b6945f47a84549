package budget

import (
	"context"
	"sync"
	"time"

	"github.com/routeguide/routeguide/server/internal/defaults"
)

// DefaultMaxClients is the default of [LocalConfig.MaxClients].
const DefaultMaxClients = 100_000

// LocalConfig configures a [Local] limiter.
type LocalConfig struct {
	// Policy is every client's budget.
	Policy Policy
	// MaxClients bounds how many clients with a budget not full the
	// limiter remembers, each in about 64 bytes
	// (BenchmarkLocalMemory), so 6.4 MB at the default bound. Past it, a client it does
	// not remember is charged to one budget shared by all such clients,
	// so that a flood of distinct addresses costs no more memory and gets
	// no more writes than one client. Default [DefaultMaxClients].
	MaxClients int
	// Now is the limiter's clock. Default time.Now.
	Now func() time.Time
}

// Local keeps every client's budget in this process's memory. A client
// whose budget is full again is forgotten: a sweep of the table drops it,
// and sweeps come with the first write after each [Policy.Refill], and
// when the table is full, at most once per interval between two writes of
// a client at full rate. It is safe for concurrent use.
type Local struct {
	policy     Policy
	refill     int64 // policy.Refill(), in nanoseconds
	interval   int64 // policy.interval()
	maxClients int
	now        func() time.Time

	mu        sync.Mutex
	tats      map[Key]int64 // protected by mu; each client's bucket state, see Policy.decide
	overflow  int64         // protected by mu; the bucket of clients past MaxClients
	lastSweep int64         // protected by mu
}

// NewLocal returns a limiter that holds every client to cfg.Policy.
func NewLocal(cfg LocalConfig) *Local {
	defaults.Set(&cfg.MaxClients, DefaultMaxClients)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := cfg.Policy.withDefaults()
	return &Local{
		policy:     p,
		refill:     int64(p.Refill()),
		interval:   p.interval(),
		maxClients: cfg.MaxClients,
		now:        cfg.Now,
		tats:       make(map[Key]int64),
		lastSweep:  cfg.Now().UnixNano(),
	}
}

// Allow charges one write to key's budget. The context is not used: the
// limiter never waits.
func (l *Local) Allow(_ context.Context, key Key) Decision {
	now := l.now().UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now-l.lastSweep >= l.refill {
		l.sweep(now)
	}
	tat, known := l.tats[key]
	if !known && len(l.tats) >= l.maxClients {
		// A flood of new clients must not make every write sweep the
		// whole table: once per interval, the least time in which a
		// remembered budget changes by a write, is enough.
		if now-l.lastSweep >= l.interval {
			l.sweep(now)
		}
		if len(l.tats) >= l.maxClients {
			d, next := l.policy.decide(l.overflow, now)
			l.overflow = next
			return d
		}
	}
	d, next := l.policy.decide(tat, now)
	if d.Allowed {
		l.tats[key] = next
	}
	return d
}

// learn records that key's budget is spent up to tat, its state in
// [Policy.decide] as the shared budgets last showed it, unless this
// limiter already has it spent further: a replica that must decide alone
// then goes on from where the cluster was, not from a full budget. A
// client the limiter has no room for is not learned.
func (l *Local) learn(key Key, tat int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	known, ok := l.tats[key]
	switch {
	case ok && known >= tat:
	case ok || len(l.tats) < l.maxClients:
		l.tats[key] = tat
	}
}

// sweep forgets every client whose budget is full again.
func (l *Local) sweep(now int64) {
	l.lastSweep = now
	for k, tat := range l.tats {
		if tat <= now {
			delete(l.tats, k)
		}
	}
}

// Clients is how many clients the limiter remembers.
func (l *Local) Clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tats)
}
