package notes_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/geo"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

// heapAfterGC is the live heap once the collector has run.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkWatcherMemory reports what a watcher costs the store in heap:
// idle (following live notes, none waiting), and replaying from the
// start of 1,000 stored notes with a reader that took one note and stopped.
// The goroutine and HTTP/2 stream of the handler serving it are not
// counted.
func BenchmarkWatcherMemory(b *testing.B) {
	const watchers = 10_000
	for _, c := range []struct {
		name   string
		replay bool
	}{{"idle", false}, {"replaying", true}} {
		b.Run(c.name, func(b *testing.B) {
			s := notes.NewMemory(limits.Limits{MaxNotesPerLocation: 1000, MaxStoredNoteBytes: 1 << 30, MaxReplay: 1000})
			defer s.Close()
			for i := range 1000 {
				if _, err := s.Add(b.Context(), note(int32(i), 0, "a note of some forty bytes of text......"), notes.Author{ID: "someone", Name: "Some One"}); err != nil {
					b.Fatal(err)
				}
			}
			var perWatcher float64
			for b.Loop() {
				ws := make([]*notes.Watcher, 0, watchers)
				before := heapAfterGC()
				for range watchers {
					var opts notes.WatchOptions
					if c.replay {
						opts.After = new(uint64)
					}
					w, err := s.Watch(b.Context(), opts)
					if err != nil {
						b.Fatal(err)
					}
					if c.replay {
						if _, err := w.Next(b.Context()); err != nil {
							b.Fatal(err)
						}
					}
					ws = append(ws, w)
				}
				after := heapAfterGC()
				perWatcher = float64(after-before) / watchers
				for _, w := range ws {
					w.Close()
				}
			}
			b.ReportMetric(perWatcher, "B/watcher")
		})
	}
}

// BenchmarkAddWithWatchers reports Add's latency, median and 99th
// percentile, with 0, 1,000 and 10,000 watchers of the whole world reading
// every note: delivering to them must not be the poster's cost.
func BenchmarkAddWithWatchers(b *testing.B) {
	for _, n := range []int{0, 1000, 10_000} {
		b.Run(fmt.Sprintf("watchers=%d", n), func(b *testing.B) {
			s := notes.NewMemory(limits.Limits{MaxNotesPerLocation: 100, MaxStoredNoteBytes: 64 << 20, WatchBuffer: 1 << 20})
			defer s.Close()
			ctx, cancel := context.WithCancel(b.Context())
			var readers sync.WaitGroup
			for range n {
				w, err := s.Watch(ctx, notes.WatchOptions{})
				if err != nil {
					b.Fatal(err)
				}
				readers.Go(func() {
					defer w.Close()
					for {
						if _, err := w.Next(ctx); err != nil {
							return
						}
					}
				})
			}
			var took []time.Duration
			i := 0
			for b.Loop() {
				start := time.Now()
				if _, err := s.Add(ctx, note(int32(i%1000), 0, "a note"), notes.Author{}); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
				i++
			}
			b.StopTimer()
			cancel()
			readers.Wait()
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns/add")
			b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds()), "p99-ns/add")
		})
	}
}

// BenchmarkAreaWatchers delivers notes to 1,000 watchers of as many
// areas, each note inside one of them, and waits for that area's watcher
// to get it. Given as Area, a delivery wakes that watcher alone; given as
// Match, as round five's feed had every area, it wakes all 1,000, which
// each test the note and wait again. A page's map shows a region, so this
// is what many open maps cost a replica.
func BenchmarkAreaWatchers(b *testing.B) {
	const watchers = 1000
	areaOf := func(i int) geo.Bounds {
		lat := int32(i) * 1000
		return geo.Bounds{MinLatitude: lat, MaxLatitude: lat + 10, MinLongitude: 0, MaxLongitude: 10}
	}
	for _, by := range []string{"match", "area"} {
		b.Run("by="+by, func(b *testing.B) {
			s := notes.NewMemory(limits.Limits{MaxNotesPerLocation: 100, MaxStoredNoteBytes: 64 << 20})
			defer s.Close()
			ctx, cancel := context.WithCancel(b.Context())
			defer cancel()
			got := make([]chan struct{}, watchers)
			var readers sync.WaitGroup
			for i := range watchers {
				area := areaOf(i)
				opts := notes.WatchOptions{Area: &area}
				if by == "match" {
					opts = notes.WatchOptions{Match: func(n *routeguide.RouteNote) bool { return area.Contains(geo.PointOf(n.GetLocation())) }}
				}
				w, err := s.Watch(ctx, opts)
				if err != nil {
					b.Fatal(err)
				}
				got[i] = make(chan struct{}, 1)
				readers.Go(func() {
					defer w.Close()
					for {
						if _, err := w.Next(ctx); err != nil {
							return
						}
						got[i] <- struct{}{}
					}
				})
			}
			i := 0
			for b.Loop() {
				at := areaOf(i % watchers)
				if _, err := s.Add(ctx, note(at.MinLatitude+5, 5, "a note"), notes.Author{}); err != nil {
					b.Fatal(err)
				}
				<-got[i%watchers]
				i++
			}
			b.StopTimer()
			cancel()
			readers.Wait()
		})
	}
}
