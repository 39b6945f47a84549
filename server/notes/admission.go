package notes

import (
	"errors"
	"fmt"
	"sync"
)

// ErrTooManyWatches is wrapped by the error of [Admission.Acquire] past a
// limit; the error names which.
var ErrTooManyWatches = errors.New("too many watches")

// AdmissionLimits bound the watches one replica serves at once. Zero fields
// take their defaults.
type AdmissionLimits struct {
	// PerClient is how many watches one client may hold open: a browser
	// page needs one, a busy client a few. Default
	// [DefaultMaxWatchesPerClient].
	PerClient int
	// Total is how many watches the replica holds open from all clients.
	// Default [DefaultMaxWatches].
	Total int
}

// WatchMemoryBudget is the server memory the default limits let watchers
// take, and WatchCost what one watcher may cost, the goal for an idle
// watcher over HTTP/2: its stream, its handler's goroutine and its share
// of the store.
const (
	WatchMemoryBudget = 1 << 30
	WatchCost         = 16 << 10
)

// DefaultMaxWatches fills WatchMemoryBudget with watchers of WatchCost:
// 65,536. DefaultMaxWatchesPerClient lets a household or an office behind
// one address keep a few dozen pages open, while one client alone can
// take no more than a thousandth of the budget.
const (
	DefaultMaxWatches          = WatchMemoryBudget / WatchCost
	DefaultMaxWatchesPerClient = 64
)

// Admission counts the watches open per client and in all, and refuses
// one past either limit. It is safe for concurrent use.
type Admission struct {
	perClient, total int

	mu       sync.Mutex // protects the fields below
	open     int
	byClient map[string]int
}

// NewAdmission returns an Admission with the given limits.
func NewAdmission(limits AdmissionLimits) *Admission {
	a := &Admission{perClient: limits.PerClient, total: limits.Total, byClient: make(map[string]int)}
	if a.perClient <= 0 {
		a.perClient = DefaultMaxWatchesPerClient
	}
	if a.total <= 0 {
		a.total = DefaultMaxWatches
	}
	return a
}

// Acquire admits one more watch by client, such as its author ID when
// signed in, else its address, and returns the function that releases it,
// which the caller must call once the watch ends; calling it again does
// nothing. Past a limit it returns an error wrapping [ErrTooManyWatches]
// that names the limit.
func (a *Admission) Acquire(client string) (release func(), err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.open >= a.total {
		return nil, fmt.Errorf("%w: this server has %d watches open, its most for all clients", ErrTooManyWatches, a.total)
	}
	if a.byClient[client] >= a.perClient {
		return nil, fmt.Errorf("%w: this client has %d watches open, the most one client may", ErrTooManyWatches, a.perClient)
	}
	a.open++
	a.byClient[client]++
	var once sync.Once
	return func() { once.Do(func() { a.release(client) }) }, nil
}

func (a *Admission) release(client string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.open--
	if a.byClient[client]--; a.byClient[client] == 0 {
		delete(a.byClient, client) // a client gone costs nothing
	}
}

// Open returns how many watches are open, in all and by client.
func (a *Admission) Open(client string) (total, byClient int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.open, a.byClient[client]
}
