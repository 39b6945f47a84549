package server_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

// The notes benchmarks put the JetStream store beside the memory store.
// NATS runs embedded in the benchmark's process, on the same cores as the
// servers and clients, so the figures are those of one small machine doing
// everything; BENCHMARKS.md quotes them with the command.

// unbudgeted lifts the write budget: a benchmark's notes come from one
// client, as fast as the store takes them.
var unbudgeted = server.WithWriteBudget(nil)

// noteStores opens each kind of store the benchmarks compare, for one
// replica or, with replicas > 1, for that many sharing it.
func noteStores(b *testing.B) []struct {
	name string
	open func(b *testing.B, replicas int) []notes.Store
} {
	memory := func(b *testing.B, replicas int) []notes.Store {
		if replicas > 1 {
			return nil // memory is one process's alone
		}
		return []notes.Store{notes.NewMemory(limits.Limits{MaxNotesPerLocation: 100, MaxStoredNoteBytes: 64 << 20})}
	}
	jetstream := func(r3 bool) func(b *testing.B, replicas int) []notes.Store {
		return func(b *testing.B, replicas int) []notes.Store {
			urls, copies := "", 1
			if r3 {
				urls, copies = natstest.StartCluster(b, 3).URLs(), 3
			} else {
				urls = natstest.Start(b).URL()
			}
			var stores []notes.Store
			for range replicas {
				ctx, cancel := context.WithTimeout(b.Context(), 20*time.Second)
				s, err := notes.OpenJetStream(ctx, notes.JetStreamConfig{URLs: urls, Replicas: copies})
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				// The first note waits for the stream's leader to settle;
				// keep that out of the figures.
				if _, err := s.Add(b.Context(), note(-89_000_000, -179_000_000, "warm-up"), notes.Author{}); err != nil {
					b.Fatal(err)
				}
				stores = append(stores, s)
			}
			return stores
		}
	}
	return []struct {
		name string
		open func(b *testing.B, replicas int) []notes.Store
	}{
		{"store=memory", memory},
		{"store=jetstream-R1", jetstream(false)},
		{"store=jetstream-R3", jetstream(true)},
	}
}

// BenchmarkNotesRouteChatRoundTrip sends one note at a time on one open
// RouteChat and waits for its reply, at a new location each time, so the
// reply is the note alone: the round trip of storing a note.
func BenchmarkNotesRouteChatRoundTrip(b *testing.B) {
	for _, st := range noteStores(b) {
		b.Run(st.name, func(b *testing.B) {
			r := newReplica(b, st.open(b, 1)[0], unbudgeted)
			chat := r.chat.RouteChat(b.Context())
			defer chat.CloseSend()
			var rtts []time.Duration
			i := int32(0)
			for b.Loop() {
				i++
				start := time.Now()
				if err := chat.Send(note(i, 0, "a note")); err != nil {
					b.Fatal(err)
				}
				if _, err := chat.Receive(); err != nil {
					b.Fatal(err)
				}
				rtts = append(rtts, time.Since(start))
			}
			reportPercentiles(b, rtts, time.Microsecond, "µs")
		})
	}
}

// BenchmarkNotesPostParallel posts notes from 16 goroutines a core at once, each
// waiting for its reply before the next: notes stored per second.
func BenchmarkNotesPostParallel(b *testing.B) {
	for _, st := range noteStores(b) {
		b.Run(st.name, func(b *testing.B) {
			r := newReplica(b, st.open(b, 1)[0], unbudgeted)
			var n atomic.Int32
			b.SetParallelism(16)
			b.ResetTimer() // the stores and servers start outside the time
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, err := post(context.Background(), r, note(i%10_000, 1, "a note")); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notes/s")
		})
	}
}

// BenchmarkNotesWatchAcrossReplicas posts one note at a time on replica A
// while 64 watchers follow the feed on replica B, and measures the delay
// from the start of the PostNote call to each watcher's receipt.
func BenchmarkNotesWatchAcrossReplicas(b *testing.B) {
	const watchers = 64
	for _, st := range noteStores(b)[1:] {
		b.Run(st.name+"/watchers=64", func(b *testing.B) {
			stores := st.open(b, 2)
			a, watched := newReplica(b, stores[0], unbudgeted), newReplica(b, stores[1], unbudgeted)
			ctx, cancel := context.WithCancel(b.Context())
			defer cancel()

			var mu sync.Mutex // protects sent and delays
			sent := map[string]time.Time{}
			var delays []time.Duration
			received := make(chan struct{}, watchers)
			var wg sync.WaitGroup
			for range watchers {
				stream, err := watched.notes.WatchNotes(ctx, &notesv1.WatchNotesRequest{})
				if err != nil {
					b.Fatal(err)
				}
				wg.Go(func() {
					defer stream.Close()
					for {
						res, err := stream.Receive()
						if err != nil {
							return
						}
						at := time.Now()
						mu.Lock()
						delays = append(delays, at.Sub(sent[res.GetNote().GetMessage()]))
						mu.Unlock()
						received <- struct{}{}
					}
				})
			}
			// Watches start when their first note arrives: post until
			// every watcher has one.
			warm := 0
			for got := 0; got < watchers; {
				warm++
				mu.Lock()
				sent[fmt.Sprint("warm", warm)] = time.Now()
				mu.Unlock()
				if _, err := post(ctx, a, note(2, 2, fmt.Sprint("warm", warm))); err != nil {
					b.Fatal(err)
				}
				for drained := false; !drained; {
					select {
					case <-received:
						got++
					case <-time.After(50 * time.Millisecond):
						drained = true
					}
				}
			}
			mu.Lock()
			delays = delays[:0]
			mu.Unlock()

			i := 0
			for b.Loop() {
				i++
				msg := fmt.Sprint(i)
				mu.Lock()
				sent[msg] = time.Now()
				mu.Unlock()
				if _, err := post(ctx, a, note(3, 3, msg)); err != nil {
					b.Fatal(err)
				}
				for range watchers {
					select {
					case <-received:
					case <-time.After(5 * time.Second):
						b.Fatalf("note %d not seen by every watcher in 5s", i)
					}
				}
			}
			b.StopTimer()
			cancel()
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			reportPercentiles(b, delays, time.Microsecond, "µs")
		})
	}
}

// reportPercentiles reports the 50th and 99th percentiles of ds in unit.
func reportPercentiles(b *testing.B, ds []time.Duration, unit time.Duration, name string) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(q float64) float64 {
		return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))]) / float64(unit)
	}
	b.ReportMetric(at(0.50), "p50-"+name)
	b.ReportMetric(at(0.99), "p99-"+name)
}
