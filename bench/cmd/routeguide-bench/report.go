package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// The headline tables, in the order they are printed.
const (
	tGetH2  = "GetFeature, h2load, 1 connection × 64 streams (req/s)"
	tGetGhz = "GetFeature, ghz (grpc-go client), 64 workers on 1 connection (req/s)"
	tList   = "ListFeatures of 100 features, h2load, 1 connection × 16 streams (msg/s)"
	tRecord = "RecordRoute, 1,000-point routes, Go gRPC client, 16 streams (points/s)"
	tChat   = "RouteChat, Go gRPC client, 16 streams sending and reading at once (replies/s)"
	tPing   = "RouteChat lone message: one note, wait for its reply (round trips/s; p50/p99 is the round trip)"
)

// The workloads of the scale sweep.
const (
	wGet    = "GetFeature"
	wList   = "ListFeatures (~100-feature rectangle)"
	wRecord = "RecordRoute"
)

func sweepTable(workload string, n int) string { return fmt.Sprintf("sweep|%s|%d", workload, n) }

type report struct {
	machine string
	options options
	tables  []string
	samples map[string]map[string][]sample // table, server
	order   map[string][]string            // servers of a table in order
	memory  []memoryFigure
}

type memoryFigure struct {
	what, server string
	bytes        int64
}

func (r *report) add(table, server string, s sample) {
	if r.samples == nil {
		r.samples = make(map[string]map[string][]sample)
		r.order = make(map[string][]string)
	}
	if r.samples[table] == nil {
		r.samples[table] = make(map[string][]sample)
		r.tables = append(r.tables, table)
	}
	if _, ok := r.samples[table][server]; !ok {
		r.order[table] = append(r.order[table], server)
	}
	r.samples[table][server] = append(r.samples[table][server], s)
}

// median gives the median of each figure of the samples on its own.
func median(samples []sample) sample {
	pick := func(f func(sample) float64) float64 {
		v := make([]float64, len(samples))
		for i, s := range samples {
			v[i] = f(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return sample{
		rate:     pick(func(s sample) float64 { return s.rate }),
		p50:      time.Duration(pick(func(s sample) float64 { return float64(s.p50) })),
		p99:      time.Duration(pick(func(s sample) float64 { return float64(s.p99) })),
		cpuPerOp: time.Duration(pick(func(s sample) float64 { return float64(s.cpuPerOp) })),
		rss:      int64(pick(func(s sample) float64 { return float64(s.rss) })),

		writesPerOp: pick(func(s sample) float64 { return s.writesPerOp }),
	}
}

func (r *report) write(w io.Writer) {
	fmt.Fprintf(w, "Machine: %s\n\n", r.machine)
	fmt.Fprintf(w, "Medians of %d runs of %s each, after a warm-up run; servers pinned to CPU %s, load to CPU %s.\n\n",
		r.options.runs, r.options.duration, serverCPU, loadCPU)
	fmt.Fprintln(w, "## Side by side, 100 features")
	for _, table := range r.tables {
		if strings.HasPrefix(table, "sweep|") {
			continue
		}
		fmt.Fprintf(w, "\n### %s\n\n", table)
		fmt.Fprintln(w, "| server | rate | vs reference | vs ceiling | p50 | p99 | server CPU/op | server writes/op | server RSS |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
		ref, hasRef := r.samples[table]["grpc-go reference"]
		var ceil []sample
		for name, s := range r.samples[table] {
			if strings.HasPrefix(name, "ceiling (") { // the plain one
				ceil = s
			}
		}
		for _, name := range r.order[table] {
			m := median(r.samples[table][name])
			vsRef, vsCeil := "", ""
			if hasRef {
				vsRef = fmt.Sprintf("%.2f×", m.rate/median(ref).rate)
			}
			if ceil != nil {
				vsCeil = fmt.Sprintf("%.2f×", m.rate/median(ceil).rate)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %.3g | %s |\n",
				name, rate(m.rate), vsRef, vsCeil, dur(m.p50), dur(m.p99), dur(m.cpuPerOp), m.writesPerOp, mib(m.rss))
		}
	}
	fmt.Fprintln(w, "\n## Scale sweep: cost against dataset size")
	fmt.Fprintln(w, "\nGetFeature and ListFeatures under h2load (gRPC, 1 connection × 64 and × 16 streams); RecordRoute with 8 streams of the Go client, rates in points/s. CPU/op is server CPU per request, or per point for RecordRoute.")
	fmt.Fprintln(w, "\n| workload | n | routeguide rate | reference rate | ratio | routeguide CPU/op | reference CPU/op | routeguide p99 | reference p99 |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, workload := range []string{wGet, wList, wRecord} {
		for _, n := range r.options.sizes {
			t := r.samples[sweepTable(workload, n)]
			if t == nil {
				continue
			}
			ours, ref := median(t["routeguide"]), median(t["reference"])
			fmt.Fprintf(w, "| %s | %d | %s | %s | %.1f× | %s | %s | %s | %s |\n", workload, n,
				rate(ours.rate), rate(ref.rate), ours.rate/ref.rate,
				dur(ours.cpuPerOp), dur(ref.cpuPerOp), dur(ours.p99), dur(ref.p99))
		}
	}
	fmt.Fprintln(w, "\n## Memory")
	fmt.Fprintln(w, "\n| figure | server | memory |")
	fmt.Fprintln(w, "|---|---|---:|")
	for _, m := range r.memory {
		fmt.Fprintf(w, "| %s | %s | %s |\n", m.what, m.server, bytesFigure(m.bytes))
	}
}

func rate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func dur(d time.Duration) string {
	switch {
	case d == 0:
		return "–"
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func bytesFigure(b int64) string {
	if b < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(b)/1024)
	}
	return mib(b)
}
