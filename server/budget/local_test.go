package budget_test

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/routeguide/routeguide/server/budget"
)

// spend makes n writes for key and returns the decisions.
func spend(ctx context.Context, l interface {
	Allow(context.Context, budget.Key) budget.Decision
}, key budget.Key, n int) (allowed int, last budget.Decision) {
	for range n {
		last = l.Allow(ctx, key)
		if last.Allowed {
			allowed++
		}
	}
	return allowed, last
}

func TestLocalBudget(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := budget.NewLocal(budget.LocalConfig{Policy: budget.Policy{Rate: 6, Burst: 4}, Now: c.Now})
	alice := budget.AuthorKey("alice")
	bob := budget.AddrKey(netip.MustParseAddr("192.0.2.1"))

	allowed, last := spend(t.Context(), l, alice, 10)
	if got, want := allowed, 4; got != want {
		t.Errorf("alice: %d of 10 allowed, want the burst, %d", got, want)
	}
	if diff := cmp.Diff(budget.Decision{RetryAfter: 10 * time.Second}, last); diff != "" {
		t.Errorf("refusal (-want +got):\n%s", diff)
	}
	if allowed, _ := spend(t.Context(), l, bob, 4); allowed != 4 {
		t.Errorf("bob: %d of 4 allowed: alice spent his budget", allowed)
	}
	c.Advance(9 * time.Second)
	if d := l.Allow(t.Context(), alice); d.Allowed || d.RetryAfter != time.Second {
		t.Errorf("after 9s: %+v, want a refusal, retry after 1s", d)
	}
	c.Advance(time.Second)
	if d := l.Allow(t.Context(), alice); !d.Allowed {
		t.Errorf("after 10s: %+v, want allowed", d)
	}
}

// TestLocalForgetsIdleClients: a client whose budget is full again costs
// no memory once a sweep has come.
func TestLocalForgetsIdleClients(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := budget.Policy{Rate: 60, Burst: 10}
	l := budget.NewLocal(budget.LocalConfig{Policy: p, Now: c.Now})
	for i := range 1000 {
		l.Allow(t.Context(), budget.AddrKey(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})))
	}
	if got, want := l.Clients(), 1000; got != want {
		t.Fatalf("%d clients remembered, want %d", got, want)
	}
	c.Advance(p.Refill())
	l.Allow(t.Context(), budget.AuthorKey("late"))
	if got, want := l.Clients(), 1; got != want {
		t.Errorf("after a refill: %d clients remembered, want %d (the one that just wrote)", got, want)
	}
}

// TestLocalBoundsClients: past MaxClients, memory does not grow, and the
// clients not remembered share one budget, so that a flood of distinct
// addresses gets no more writes than one client.
func TestLocalBoundsClients(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := budget.Policy{Rate: 60, Burst: 5}
	l := budget.NewLocal(budget.LocalConfig{Policy: p, MaxClients: 100, Now: c.Now})
	regular := budget.AuthorKey("regular")
	if !l.Allow(t.Context(), regular).Allowed {
		t.Fatal("refused the first write")
	}
	flood := 0
	for i := range 10_000 {
		addr := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i), 15: 1})
		if l.Allow(t.Context(), budget.AddrKey(addr)).Allowed {
			flood++
		}
	}
	if got, want := l.Clients(), 100; got != want {
		t.Errorf("%d clients remembered, want the cap, %d", got, want)
	}
	if got, want := flood, 99+p.Burst; got != want {
		t.Errorf("the flood of 10,000 /64s got %d writes, want %d: 99 until the table filled, then one budget", got, want)
	}
	if allowed, _ := spend(t.Context(), l, regular, 4); allowed != 4 {
		t.Errorf("a client remembered before the flood: %d of its 4 writes allowed", allowed)
	}
	c.Advance(p.Refill())
	if !l.Allow(t.Context(), budget.AuthorKey("newcomer")).Allowed {
		t.Error("once the flood's budgets are full again, a newcomer is refused")
	}
	if got, want := l.Clients(), 1; got != want {
		t.Errorf("after a refill: %d clients remembered, want %d", got, want)
	}
}

// TestLocalConcurrent: writes of one client from many goroutines at once
// get its burst, no more and no less.
func TestLocalConcurrent(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := budget.NewLocal(budget.LocalConfig{Policy: budget.Policy{Rate: 1, Burst: 100}, Now: c.Now})
	key := budget.KeyFor("", netip.MustParseAddr("2001:db8::1"))
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			n, _ := spend(t.Context(), l, key, 50)
			allowed.Add(int64(n))
		})
	}
	wg.Wait()
	if got, want := allowed.Load(), int64(100); got != want {
		t.Errorf("800 writes from 16 goroutines: %d allowed, want %d", got, want)
	}
	if budget.KeyFor("author", netip.MustParseAddr("2001:db8::1")) == key {
		t.Error("a signed-in caller is charged to its address")
	}
}
