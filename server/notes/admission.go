package notes

import (
	"errors"
	"fmt"
	"sync"

	"github.com/routeguide/routeguide/server/limits"
)

// ErrTooManyWatches is wrapped by the error of [Admission.Acquire] past a
// limit; the error names which.
var ErrTooManyWatches = errors.New("too many watches")

// Admission counts the watches open per client and in all, and refuses
// one past either limit. It is safe for concurrent use.
type Admission struct {
	perClient, total int

	mu       sync.Mutex // protects the fields below
	open     int
	byClient map[string]int
}

// NewAdmission returns an Admission under l's MaxWatchesPerClient and
// MaxWatches, zero fields taking their defaults.
func NewAdmission(l limits.Limits) *Admission {
	l = l.WithDefaults()
	return &Admission{perClient: l.MaxWatchesPerClient, total: l.MaxWatches, byClient: make(map[string]int)}
}

// Acquire admits one more watch by client, such as its author ID when
// signed in, else its address, and returns it; the caller must call its
// Release once the watch ends. Past a limit it returns an error wrapping
// [ErrTooManyWatches] that names the limit.
func (a *Admission) Acquire(client string) (Admitted, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.open >= a.total {
		return Admitted{}, fmt.Errorf("%w: this server has %d watches open, its most for all clients", ErrTooManyWatches, a.total)
	}
	if a.byClient[client] >= a.perClient {
		return Admitted{}, fmt.Errorf("%w: this client has %d watches open, the most one client may", ErrTooManyWatches, a.perClient)
	}
	a.open++
	a.byClient[client]++
	return Admitted{a: a, client: client}, nil
}

// Admitted is a watch an [Admission] admitted. It is a value, not a
// closure, so that an open watch holds nothing on the heap for it but its
// client's name: a watch is open for long, and there may be a million.
type Admitted struct {
	a      *Admission // nil once released, or if none was admitted
	client string
}

// Release gives the watch back; calling it again does nothing.
func (w *Admitted) Release() {
	a := w.a
	if a == nil {
		return
	}
	w.a = nil
	a.mu.Lock()
	defer a.mu.Unlock()
	a.open--
	if a.byClient[w.client]--; a.byClient[w.client] == 0 {
		delete(a.byClient, w.client) // a client gone costs nothing
	}
}

// Open returns how many watches are open, in all and by client.
func (a *Admission) Open(client string) (total, byClient int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.open, a.byClient[client]
}
