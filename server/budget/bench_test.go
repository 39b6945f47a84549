package budget_test

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/server/budget"
)

// BenchmarkLocalAllow is the cost of one check of a local budget, for one
// client and for clients that change every call.
func BenchmarkLocalAllow(b *testing.B) {
	b.Run("one client", func(b *testing.B) {
		l := budget.NewLocal(budget.LocalConfig{Policy: budget.Policy{Rate: 1 << 30, Burst: 1 << 30}})
		key := budget.AuthorKey("Zm9vYmFyYmF6cXV4cXV1eA")
		b.ReportAllocs()
		for b.Loop() {
			l.Allow(b.Context(), key)
		}
	})
	b.Run("many clients", func(b *testing.B) {
		l := budget.NewLocal(budget.LocalConfig{})
		b.ReportAllocs()
		i := uint32(0)
		for b.Loop() {
			i++
			l.Allow(b.Context(), budget.AddrKey(netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})))
		}
	})
}

// BenchmarkLocalMemory reports the memory a Local limiter holds per client
// remembered, filled to its default bound.
func BenchmarkLocalMemory(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l := budget.NewLocal(budget.LocalConfig{})
		for i := range budget.DefaultMaxClients {
			l.Allow(b.Context(), budget.AddrKey(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(l.Clients()), "B/client")
		runtime.KeepAlive(l)
	}
}

// BenchmarkSharedAllow is the cost of one check of a budget shared through
// JetStream, on one node on loopback: allowed (a read and a
// compare-and-swap) and refused (a read).
func BenchmarkSharedAllow(b *testing.B) {
	node := natstest.Start(b)
	s := openShared(b, connect(b, node.URL()), budget.SharedConfig{Policy: budget.Policy{Rate: 1 << 30, Burst: 1 << 30}})
	refusing := openShared(b, connect(b, node.URL()), budget.SharedConfig{Bucket: "refusing", Policy: budget.Policy{Rate: 1, Burst: 1}})
	key := budget.AuthorKey("Zm9vYmFyYmF6cXV4cXV1eA")
	b.Run("allowed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !s.Allow(b.Context(), key).Allowed {
				b.Fatal("refused")
			}
		}
	})
	b.Run("refused", func(b *testing.B) {
		refusing.Allow(b.Context(), key)
		b.ReportAllocs()
		for b.Loop() {
			if refusing.Allow(b.Context(), key).Allowed {
				b.Fatal("allowed")
			}
		}
	})
}
