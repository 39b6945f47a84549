package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/synthetic"
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

// chart draws server CPU per operation against dataset size, both on log
// scales, one line per workload and server.
func (r *report) chart() string {
	const width, height, left, right, top, bottom = 760, 440, 80, 230, 30, 60
	type series struct {
		label, colour string
		dashed        bool
		points        [][2]float64
	}
	colours := map[string]string{wGet: "#1f77b4", wList: "#d62728", wRecord: "#2ca02c"}
	var all []series
	minY, maxY := math.Inf(1), math.Inf(-1)
	for _, workload := range []string{wGet, wList, wRecord} {
		for _, server := range []string{"routeguide", "reference"} {
			s := series{label: workload + ", " + server, colour: colours[workload], dashed: server == "reference"}
			for _, n := range r.options.sizes {
				t := r.samples[sweepTable(workload, n)]
				if t == nil || t[server] == nil {
					continue
				}
				cost := float64(median(t[server]).cpuPerOp) / float64(time.Microsecond)
				if cost <= 0 {
					continue
				}
				s.points = append(s.points, [2]float64{float64(n), cost})
				minY, maxY = min(minY, cost), max(maxY, cost)
			}
			all = append(all, s)
		}
	}
	if math.IsInf(minY, 0) {
		minY, maxY = 1, 10
	}
	lo, hi := math.Floor(math.Log10(minY)), math.Ceil(math.Log10(maxY))
	if hi == lo {
		hi++
	}
	minX, maxX := math.Log10(float64(r.options.sizes[0])), math.Log10(float64(r.options.sizes[len(r.options.sizes)-1]))
	if maxX == minX {
		maxX++
	}
	px := func(n float64) float64 { return left + (math.Log10(n)-minX)/(maxX-minX)*(width-left-right) }
	py := func(v float64) float64 { return height - bottom - (math.Log10(v)-lo)/(hi-lo)*(height-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">Server CPU per operation against dataset size (log–log; dashed: grpc-go reference)</text>`+"\n", left)
	for e := lo; e <= hi; e++ {
		y := py(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, width-right, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, dur(time.Duration(math.Pow(10, e)*float64(time.Microsecond))))
	}
	for _, n := range r.options.sizes {
		x := px(float64(n))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ddd"/>`+"\n", x, x, top, height-bottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x, height-bottom+18, n)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">features in the dataset</text>`+"\n", (left+width-right)/2, height-bottom+40)
	for i, s := range all {
		var path []string
		for _, p := range s.points {
			path = append(path, fmt.Sprintf("%.1f,%.1f", px(p[0]), py(p[1])))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(p[0]), py(p[1]), s.colour)
		}
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="6,4"`
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(path, " "), s.colour, dash)
		y := top + 20 + i*20
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", width-right+10, width-right+40, y, y, s.colour, dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", width-right+46, y+4, strings.Replace(s.label, " (~100-feature rectangle)", "", 1))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// machine describes the computer the figures come from.
func machine() string {
	// runtime.NumCPU counts only the CPU the harness is pinned to.
	model, cpus := "unknown CPU", 0
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				cpus++
			}
		}
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	h2load, _ := exec.Command("h2load", "--version").Output()
	return fmt.Sprintf("%s, %d CPUs, %s, %s, %s", model, cpus, strings.TrimSpace(string(kernel)),
		runtime.Version(), strings.TrimSpace(string(h2load)))
}

// verify checks that the server at url answers as a RouteGuide server over
// features should, in every protocol it is timed in.
func verify(ctx context.Context, url string, features []*routeguide.Feature, allProtocols bool) error {
	protocols := []client.Protocol{client.ProtocolGRPC}
	if allProtocols {
		protocols = append(protocols, client.ProtocolGRPCWeb, client.ProtocolConnect)
	}
	for _, protocol := range protocols {
		c, err := client.New(url, client.WithProtocol(protocol))
		if err != nil {
			return err
		}
		want := features[len(features)/2]
		got, err := c.GetFeature(ctx, want.GetLocation())
		if err != nil {
			return fmt.Errorf("check %s over %v: GetFeature: %w", url, protocol, err)
		}
		if !proto.Equal(got, want) {
			return fmt.Errorf("check %s over %v: GetFeature gave %v, want %v", url, protocol, got, want)
		}
		count := 0
		for _, err := range c.ListFeatures(ctx, synthetic.Region) {
			if err != nil {
				return fmt.Errorf("check %s over %v: ListFeatures: %w", url, protocol, err)
			}
			count++
		}
		if count != len(features) {
			return fmt.Errorf("check %s over %v: ListFeatures gave %d features, want %d", url, protocol, count, len(features))
		}
	}
	return nil
}
