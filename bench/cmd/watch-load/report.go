package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// report gathers every measurement of a run of the tool.
type report struct {
	against string // the server the others are compared with
	cfg     config
	args    []string
	results []result
	replays []replayResult
}

func (r result) deliveriesPerSecond() float64 { return float64(r.deliveries) / r.elapsed.Seconds() }

func (r result) deliveriesPerCPUSecond() float64 {
	if r.cpu == 0 {
		return 0
	}
	return float64(r.deliveries) / r.cpu.Seconds()
}

func (r result) cpuPerDelivery() time.Duration {
	if r.deliveries == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.deliveries)
}

func (r result) String() string {
	return fmt.Sprintf("%s, %d watchers (run %d): %.0f deliveries/s (%.1f%% of posts×watchers, %d cut off), %.2f µs CPU each, "+
		"delay p50 %s p99 %s, PostNote p50 %s p99 %s (no watchers: %s), GetFeature p50 %s p99 %s (no watchers: p99 %s), "+
		"%.1f KiB per idle watcher, %.1f posts/s; server CPU %.2f s/s and waiting for a CPU %.2f s/s, watchers' CPU %.2f s/s",
		r.server, r.watchers, r.run+1, r.deliveriesPerSecond(), 100*r.delivered, r.cutOff, us(r.cpuPerDelivery()),
		ms(r.delay.p50), ms(r.delay.p99), ms(r.post.p50), ms(r.post.p99), ms(r.basePost.p50),
		ms(r.probe.p50), ms(r.probe.p99), ms(r.baseProbe.p99), r.idlePerWatcher/1024, float64(r.posts)/r.elapsed.Seconds(),
		r.cpu.Seconds()/r.elapsed.Seconds(), r.runQueueWait.Seconds()/r.elapsed.Seconds(), r.toolCPU.Seconds()/r.elapsed.Seconds())
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// markdown returns the medians of every figure for each server and count of
// watchers, each server's ratio to the r.against one measured in the same
// run, and the machine's load.
func (rep *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "watch-load %s\n\n", strings.Join(rep.args, " "))
	fmt.Fprintf(&b, "Load average at the end (/proc/loadavg): %s\n\n", loadavg())
	fmt.Fprintf(&b, "%.0f notes/s for %s (and %s before the watchers opened), notes of %d bytes; medians of %d runs.\n\n",
		rep.cfg.rate, rep.cfg.duration, rep.cfg.baseline, rep.cfg.noteBytes, rep.runs())

	var counts []int
	var servers []string
	for _, r := range rep.results {
		if !slices.Contains(counts, r.watchers) {
			counts = append(counts, r.watchers)
		}
		if !slices.Contains(servers, r.server) {
			servers = append(servers, r.server)
		}
	}
	b.WriteString("| watchers | server | deliveries/s | delivered | cut off | CPU µs/delivery | deliveries per CPU-s | delay p50 | delay p99 | PostNote p50 (none open) | PostNote p99 | GetFeature p50 | GetFeature p99 (none open) | KiB per idle watcher |\n")
	b.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range counts {
		for _, s := range servers {
			rs := rep.of(s, n)
			f := func(get func(result) float64) float64 {
				var v []float64
				for _, r := range rs {
					v = append(v, get(r))
				}
				return median(v)
			}
			fms := func(get func(result) time.Duration) string {
				return ms(time.Duration(f(func(r result) float64 { return float64(get(r)) })))
			}
			fmt.Fprintf(&b, "| %d | %s | %.0f | %.1f%% | %.0f | %.2f | %.0f | %s | %s | %s (%s) | %s | %s | %s (%s) | %.1f |\n",
				n, s, f(result.deliveriesPerSecond), 100*f(func(r result) float64 { return r.delivered }),
				f(func(r result) float64 { return float64(r.cutOff) }),
				f(func(r result) float64 { return us(r.cpuPerDelivery()) }), f(result.deliveriesPerCPUSecond),
				fms(func(r result) time.Duration { return r.delay.p50 }), fms(func(r result) time.Duration { return r.delay.p99 }),
				fms(func(r result) time.Duration { return r.post.p50 }), fms(func(r result) time.Duration { return r.basePost.p50 }),
				fms(func(r result) time.Duration { return r.post.p99 }),
				fms(func(r result) time.Duration { return r.probe.p50 }),
				fms(func(r result) time.Duration { return r.probe.p99 }), fms(func(r result) time.Duration { return r.baseProbe.p99 }),
				f(func(r result) float64 { return r.idlePerWatcher / 1024 }))
		}
	}
	if slices.Contains(servers, rep.against) && len(servers) > 1 {
		fmt.Fprintf(&b, "\nRatios to %s, each taken within one run, median over runs (range):\n\n", rep.against)
		b.WriteString("| watchers | server | deliveries per CPU-s | CPU per delivery | PostNote p50 | GetFeature p99 | memory per idle watcher |\n")
		b.WriteString("|---:|---|---:|---:|---:|---:|---:|\n")
		for _, n := range counts {
			for _, s := range servers {
				if s == rep.against {
					continue
				}
				ratio := func(get func(result) float64) string {
					var v []float64
					for _, r := range rep.of(s, n) {
						for _, a := range rep.of(rep.against, n) {
							if a.run == r.run && get(a) != 0 {
								v = append(v, get(r)/get(a))
							}
						}
					}
					if len(v) == 0 {
						return "–"
					}
					return fmt.Sprintf("%.2f× (%.2f–%.2f)", median(v), slices.Min(v), slices.Max(v))
				}
				fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s |\n", n, s,
					ratio(result.deliveriesPerCPUSecond),
					ratio(func(r result) float64 { return float64(r.cpuPerDelivery()) }),
					ratio(func(r result) float64 { return float64(r.post.p50) }),
					ratio(func(r result) float64 { return float64(r.probe.p99) }),
					ratio(func(r result) float64 { return r.idlePerWatcher }))
			}
		}
	}
	if len(rep.replays) > 0 {
		fmt.Fprintf(&b, "\nReplaying watchers that never read (after_sequence=0, stream and connection windows %d bytes, grpc-go's least), %d notes stored, median of %d runs:\n\n",
			minWindow, rep.replays[0].notes, rep.runs())
		b.WriteString("| server | watchers | KiB per watcher | runs |\n|---|---:|---:|---|\n")
		for _, s := range servers {
			var v []float64
			var each []string
			var n int
			for _, r := range rep.replays {
				if r.server == s {
					v = append(v, r.perWatcher/1024)
					each = append(each, fmt.Sprintf("%.1f", r.perWatcher/1024))
					n = r.watchers
				}
			}
			fmt.Fprintf(&b, "| %s | %d | %.1f | %s |\n", s, n, median(v), strings.Join(each, ", "))
		}
	}
	b.WriteString("\nEvery run, in order:\n\n")
	for _, r := range rep.results {
		fmt.Fprintf(&b, "- %s\n", r)
	}
	return b.String()
}

func (rep *report) of(server string, watchers int) []result {
	var rs []result
	for _, r := range rep.results {
		if r.server == server && r.watchers == watchers {
			rs = append(rs, r)
		}
	}
	return rs
}

func (rep *report) runs() int {
	n := 0
	for _, r := range rep.results {
		n = max(n, r.run+1)
	}
	return n
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(data))
}
