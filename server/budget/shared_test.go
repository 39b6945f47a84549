package budget_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/server/budget"
)

// connect opens a NATS connection to url, closed when the test ends.
func connect(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func openShared(t testing.TB, nc *nats.Conn, cfg budget.SharedConfig) *budget.Shared {
	t.Helper()
	s, err := budget.OpenShared(t.Context(), nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSharedAcrossReplicas: three replicas, each on its own connection to
// its own node of a JetStream cluster, charge one client from many
// goroutines at once: together they allow its burst, not three, and after
// a minute one more write, whichever replica takes it.
func TestSharedAcrossReplicas(t *testing.T) {
	t.Parallel()
	cluster := natstest.StartCluster(t, 3)
	c := newClock()
	p := budget.Policy{Rate: 1, Burst: 50}
	var replicas []*budget.Shared
	for i, node := range cluster {
		replicas = append(replicas, openShared(t, connect(t, node.URL()), budget.SharedConfig{
			Policy: p, Replicas: 3, Now: c.Now, Timeout: 10 * time.Second,
			Unshared: func(err error) { t.Errorf("replica %d decided alone: %v", i, err) },
		}))
	}
	client := budget.AddrKey(netip.MustParseAddr("198.51.100.9"))
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for _, r := range replicas {
		for range 8 {
			wg.Go(func() {
				n, _ := spend(t.Context(), r, client, 10)
				allowed.Add(int64(n))
			})
		}
	}
	wg.Wait()
	t.Logf("240 writes from 3 replicas: %d allowed of a burst of %d", allowed.Load(), p.Burst)
	// Compare-and-swap allows no write past the budget; a check that lost
	// every attempt to the other replicas may leave it short.
	if got := allowed.Load(); got > int64(p.Burst) || got < int64(p.Burst)*8/10 {
		t.Errorf("240 writes from 3 replicas: %d allowed, want %d (at least 80%% of it, never more)", got, p.Burst)
	}
	for i, r := range replicas {
		if d := r.Allow(t.Context(), client); d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > time.Minute {
			t.Errorf("replica %d, once the budget is spent: %+v, want a refusal with a retry within a minute", i, d)
		}
	}
	c.Advance(time.Minute)
	got := 0
	for _, r := range replicas {
		if r.Allow(t.Context(), client).Allowed {
			got++
		}
	}
	if got != 1 {
		t.Errorf("a minute later, %d of 3 replicas allowed a write, want 1", got)
	}
	other := budget.AuthorKey("someone-else")
	if n, _ := spend(t.Context(), replicas[2], other, 3); n != 3 {
		t.Errorf("another client: %d of 3 writes allowed", n)
	}
}

// TestSharedWithinBudgetUnderConcurrency: one client writing 16 at a time
// through each of three replicas, well within its budget, is never refused:
// its writes on one replica take turns rather than lose every
// compare-and-swap to each other.
func TestSharedWithinBudgetUnderConcurrency(t *testing.T) {
	t.Parallel()
	cluster := natstest.StartCluster(t, 3)
	p := budget.Policy{Rate: 1, Burst: 1_000_000}
	var replicas []*budget.Shared
	for i, node := range cluster {
		replicas = append(replicas, openShared(t, connect(t, node.URL()), budget.SharedConfig{
			Policy: p, Replicas: 3, Timeout: 10 * time.Second,
			Unshared: func(err error) { t.Errorf("replica %d decided alone: %v", i, err) },
		}))
	}
	client := budget.AuthorKey("busy")
	const perWriter = 10
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for _, r := range replicas {
		for range 16 {
			wg.Go(func() {
				n, _ := spend(t.Context(), r, client, perWriter)
				allowed.Add(int64(n))
			})
		}
	}
	wg.Wait()
	if got, want := allowed.Load(), int64(len(replicas)*16*perWriter); got != want {
		t.Errorf("%d writes within budget, 16 at a time per replica: %d allowed", want, got)
	}
}

// TestSharedWithoutNATS: with NATS unreachable, a replica keeps its own
// budgets, going on from what it last saw of the shared ones, and says so;
// once NATS is back, the shared budget counts again.
func TestSharedWithoutNATS(t *testing.T) {
	t.Parallel()
	node := natstest.Start(t)
	disconnected := make(chan struct{}, 1)
	reconnected := make(chan struct{}, 1)
	nc := connect(t, node.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(10*time.Millisecond),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { disconnected <- struct{}{} }),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	c := newClock()
	var unshared atomic.Int64
	var mu sync.Mutex
	var lastErr error
	s := openShared(t, nc, budget.SharedConfig{
		Policy: budget.Policy{Rate: 1, Burst: 3}, Now: c.Now,
		Unshared: func(err error) {
			unshared.Add(1)
			mu.Lock()
			defer mu.Unlock()
			lastErr = err
		},
	})
	client := budget.AuthorKey("client")
	if n, _ := spend(t.Context(), s, client, 2); n != 2 {
		t.Fatalf("%d of 2 shared writes allowed", n)
	}

	node.Stop()
	<-disconnected
	// A budget that started full alone would let 3 more through: one
	// replica's blip would be worth a burst to a client that floods it.
	n, last := spend(t.Context(), s, client, 5)
	if n != 1 || last.Allowed || last.RetryAfter <= 0 || !last.Unshared {
		t.Errorf("without NATS: %d of 5 allowed, last %+v; want what the shared budget had left, 1, then a refusal decided alone", n, last)
	}
	if got := unshared.Load(); got != 5 {
		t.Errorf("%d checks reported as decided alone, want 5", got)
	}
	mu.Lock()
	if !errors.Is(lastErr, budget.ErrUnshared) {
		t.Errorf("reported %v, want an error wrapping ErrUnshared", lastErr)
	}
	mu.Unlock()

	node.Restart()
	<-reconnected
	// JetStream comes back after the connection does, and the bucket, kept
	// in memory, is gone until a check creates it again: probe with
	// another client until a check is shared again.
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for probe := 0; ; probe++ {
		before := unshared.Load()
		s.Allow(t.Context(), budget.AuthorKey(fmt.Sprintf("probe-%d", probe)))
		if unshared.Load() == before {
			break
		}
		if time.Now().After(deadline) {
			mu.Lock()
			t.Fatalf("no check shared 20s after NATS came back; the last error: %v", lastErr)
		}
		<-tick.C
	}
	// The budgets went with the node's memory: the client's is full again
	// in the bucket, while its local one is spent.
	if n, last := spend(t.Context(), s, client, 5); n != 3 || last.Unshared {
		t.Errorf("after NATS came back: %d of 5 allowed, last %+v; want the shared budget, 3, shared", n, last)
	}
}

// TestSharedBucketFull: past the bucket's bound, clients it cannot hold
// are decided by the replica alone, and the reason is reported.
func TestSharedBucketFull(t *testing.T) {
	t.Parallel()
	node := natstest.Start(t)
	var mu sync.Mutex
	var reported []error
	s := openShared(t, connect(t, node.URL()), budget.SharedConfig{
		Policy: budget.Policy{Rate: 1, Burst: 2}, MaxBytes: 4 << 10,
		Unshared: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, err)
		},
	})
	allowed := 0
	for i := range 200 {
		if s.Allow(t.Context(), budget.AuthorKey(fmt.Sprintf("client-%d", i))).Allowed {
			allowed++
		}
	}
	if allowed != 200 {
		t.Errorf("%d of 200 first writes of distinct clients allowed, want all", allowed)
	}
	mu.Lock()
	alone := len(reported)
	first := errors.New("none")
	if alone > 0 {
		first = reported[0]
	}
	mu.Unlock()
	if alone == 0 || alone == 200 {
		t.Fatalf("%d of 200 checks decided alone, want those past the bucket's 4 KiB", alone)
	}
	if !errors.Is(first, budget.ErrUnshared) {
		t.Errorf("reported %v, want an error wrapping ErrUnshared", first)
	}
	t.Logf("the bucket held %d clients in 4 KiB; the first refusal: %v", 200-alone, first)
	// A client past the bound still has a budget, its replica's own.
	late := budget.AuthorKey("client-199")
	if n, _ := spend(t.Context(), s, late, 5); n != 1 {
		t.Errorf("a client past the bound: %d of 5 more writes allowed, want 1 (burst 2, one spent)", n)
	}
}

func TestSharedBucket(t *testing.T) {
	t.Parallel()
	node := natstest.Start(t)
	nc := connect(t, node.URL())
	p := budget.Policy{Rate: 12, Burst: 7}
	openShared(t, nc, budget.SharedConfig{Policy: p, Bucket: "budgets"})
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	info, err := js.StreamInfo("KV_budgets")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Config.MaxAge, 35*time.Second; got != want {
		t.Errorf("entries expire after %v, want the refill time %v", got, want)
	}
	if got, want := info.Config.Storage, nats.MemoryStorage; got != want {
		t.Errorf("storage %v, want %v", got, want)
	}
}

// TestSharedStartsWhenNATSDoesNotAnswer: a limiter whose bucket cannot be
// made as it opens, NATS not answering in time, opens anyway and decides
// alone, saying so; a later check makes the bucket and shares again.
func TestSharedStartsWhenNATSDoesNotAnswer(t *testing.T) {
	t.Parallel()
	nc := connect(t, natstest.Start(t).URL())
	var unshared atomic.Int64
	cfg := budget.SharedConfig{Policy: budget.Policy{Rate: 1, Burst: 3}, Unshared: func(error) { unshared.Add(1) }}
	// A deadline already past stands for NATS not answering in time.
	late, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	s, err := budget.OpenShared(late, nc, cfg)
	if err != nil {
		t.Fatalf("OpenShared without an answer: %v, want a limiter that decides alone", err)
	}
	if unshared.Load() == 0 {
		t.Error("OpenShared without an answer did not say it decides alone")
	}
	client := budget.AddrKey(netip.MustParseAddr("198.51.100.10"))
	// The bucket is made again at most once a second: check until a
	// check is shared, which makes it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := unshared.Load()
		s.Allow(t.Context(), client)
		if unshared.Load() == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no check was shared within 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.KeyValue(t.Context(), "routeguide_budgets"); err != nil {
		t.Errorf("the bucket after a shared check: %v", err)
	}
}

// TestSharedWaitsForTheBucket: a check that finds the bucket gone, and
// cannot make it again at once (it was made less than a second ago), asks
// again within its time rather than deciding alone at once. A check
// decided alone charges nothing to the shared budget: a replica whose
// bucket did not answer for a moment let a flooding client past it (111
// notes of a budget of 90, 22 writes decided alone, in a CI run).
func TestSharedWaitsForTheBucket(t *testing.T) {
	t.Parallel()
	nc := connect(t, natstest.Start(t).URL())
	var unshared atomic.Int64
	var lastErr atomic.Value
	s := openShared(t, nc, budget.SharedConfig{
		Policy:  budget.Policy{Rate: 1, Burst: 3},
		Timeout: 5 * time.Second,
		Unshared: func(err error) {
			unshared.Add(1)
			lastErr.Store(err)
		},
	})
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	client := budget.AuthorKey("client")
	for round := range 2 {
		// The second round finds the bucket gone within a second of the
		// first round making it again.
		if err := js.DeleteKeyValue(t.Context(), "routeguide_budgets"); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			t.Fatal(err)
		}
		if d := s.Allow(t.Context(), client); !d.Allowed || d.Unshared {
			t.Errorf("round %d: the check with the bucket gone: %+v, want allowed and shared", round, d)
		}
	}
	if n := unshared.Load(); n != 0 {
		t.Errorf("%d checks decided alone, the last for %v; want none", n, lastErr.Load())
	}
	// Both rounds' writes were charged to the bucket made again, the
	// second's alone: the first's went with the bucket deleted after it.
	if n, _ := spend(t.Context(), s, client, 5); n != 2 {
		t.Errorf("after the two rounds: %d of 5 more writes allowed, want 2 (burst 3, one spent)", n)
	}
}

// TestSharedCrowdedIsNotOverBudget floods one client's checks, with a
// budget it cannot spend and no time to wait for its turn: those refused
// are refused for being crowded out of the count, and say so, never for a
// spent budget (a nemesis run saw such refusals tell a client within its
// budget that it had written it, while NATS did not answer).
func TestSharedCrowdedIsNotOverBudget(t *testing.T) {
	t.Parallel()
	nc := connect(t, natstest.Start(t).URL())
	s := openShared(t, nc, budget.SharedConfig{
		Policy:  budget.Policy{Rate: 1_000_000, Burst: 1_000_000},
		Timeout: time.Nanosecond, // every wait for the turn runs out
	})
	client := budget.AuthorKey("client")
	var wg sync.WaitGroup
	var crowded, spent atomic.Int64
	for range 200 {
		wg.Go(func() {
			d := s.Allow(t.Context(), client)
			switch {
			case d.Allowed:
			case d.Crowded:
				crowded.Add(1)
			default:
				spent.Add(1)
			}
		})
	}
	wg.Wait()
	if n := spent.Load(); n != 0 {
		t.Errorf("%d of 200 writes refused as over a budget of a million", n)
	}
	if crowded.Load() == 0 {
		t.Error("no write was crowded out, with no time to wait for a turn")
	}
	t.Logf("%d of 200 refused as crowded", crowded.Load())
}
