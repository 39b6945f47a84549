package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/internal/synthetic"
)

// A fastPathVariant is a build of routeguide-server with some of its fast
// paths left out, or its flags turning them all off.
type fastPathVariant struct {
	name string
	off  string   // the pieces the build leaves out (transport.fastPathsOff)
	args []string // more flags for the server
}

// fastPathVariants are measured against "all on": each fast path left out
// alone, and all of them off as --fast-paths=false turns them off.
var fastPathVariants = []fastPathVariant{
	{name: "all on"},
	{name: "no batchconn", off: "batchconn"},
	{name: "no flush coalescing", off: "flush"},
	{name: "no growstack", off: "growstack"},
	{name: "all off (--fast-paths=false)", args: []string{"--fast-paths=false"}},
}

// The workloads the fast paths claim to help, in the order they are run.
const (
	fGet  = "GetFeature gRPC, h2load 1 × 64 (req/s)"
	fList = "ListFeatures of 100 gRPC, h2load 1 × 16 (msg/s)"
	fChat = "RouteChat, Go gRPC client, 16 streams (replies/s)"
)

// buildFastPathVariants builds routeguide-server once for each variant that
// leaves something out, and once for the others.
func buildFastPathVariants(ctx context.Context, dir string) (map[string]string, error) {
	root, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/routeguide/routeguide").Output()
	if err != nil {
		return nil, fmt.Errorf("find the repository: %w", err)
	}
	bins := make(map[string]string)
	for _, v := range fastPathVariants {
		bin := filepath.Join(dir, "routeguide-server-off-"+v.off)
		if _, ok := bins[v.off]; ok {
			continue
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin,
			"-ldflags", "-X github.com/routeguide/routeguide/server/transport.fastPathsOff="+v.off,
			"./server/cmd/routeguide-server")
		cmd.Dir = strings.TrimSpace(string(root))
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build routeguide-server without %q: %w\n%s", v.off, err, out)
		}
		bins[v.off] = bin
	}
	return bins, nil
}

// fastPaths measures each variant on each workload, one server at a time,
// in o.runs rounds; each round runs the variants in a different order, so
// that none always follows the same one, and every sample of a round is
// compared with "all on" of the same round.
func fastPaths(ctx context.Context, o options, work string, log, stdout io.Writer) error {
	fmt.Fprintln(log, "building routeguide-server variants")
	bins, err := buildFastPathVariants(ctx, work)
	if err != nil {
		return err
	}
	b := &bench{o: o, work: work, log: log, datasets: make(map[int]string)}
	const n = 100
	path, err := b.dataset(n)
	if err != nil {
		return err
	}
	features := synthetic.Features(n, 1)
	get := protocolLoad("grpc", routeguideconnect.RouteGuideGetFeatureProcedure, features[n/2].GetLocation(), true)
	get.conns, get.streams, get.perResponse = 1, 64, 1
	list := protocolLoad("grpc", routeguideconnect.RouteGuideListFeaturesProcedure, synthetic.Region, false)
	list.conns, list.streams, list.perResponse = 1, 16, n
	loads := []struct {
		table string
		run   func(p *process, d time.Duration) (float64, sample, error)
	}{
		{fGet, func(p *process, d time.Duration) (float64, sample, error) {
			return runH2load(ctx, work, p.url(), get, d)
		}},
		{fList, func(p *process, d time.Duration) (float64, sample, error) {
			return runH2load(ctx, work, p.url(), list, d)
		}},
		{fChat, func(p *process, d time.Duration) (float64, sample, error) { return runRouteChat(ctx, p.url(), 16, d) }},
	}
	variants := fastPathVariants
	if len(o.fastPathsOnly) > 0 {
		variants = slices.DeleteFunc(slices.Clone(variants), func(v fastPathVariant) bool {
			return v.off != "" && !slices.Contains(o.fastPathsOnly, v.off) || v.off == "" && len(v.args) > 0
		})
	}
	// samples[table][variant] holds one sample a round.
	samples := make(map[string]map[string][]sample)
	for _, l := range loads {
		samples[l.table] = make(map[string][]sample)
	}
	for round := range o.runs {
		for i := range variants {
			v := variants[(i+round)%len(variants)]
			fmt.Fprintf(log, "round %d: %s\n", round+1, v.name)
			args := append([]string{"--features", path, "--write-burst", "1000000000", "--write-rate", "1000000000"}, v.args...)
			p, err := start(ctx, v.name, bins[v.off], args...)
			if err != nil {
				return err
			}
			for _, l := range loads {
				if _, _, err := l.run(p, time.Second); err != nil { // warm-up
					p.stop()
					return fmt.Errorf("%s, %s: %w", l.table, v.name, err)
				}
				s, err := measure(p, func() (float64, sample, error) { return l.run(p, o.duration) })
				if err != nil {
					p.stop()
					return fmt.Errorf("%s, %s: %w", l.table, v.name, err)
				}
				samples[l.table][v.name] = append(samples[l.table][v.name], s)
			}
			p.stop()
		}
	}
	fmt.Fprintf(stdout, "Machine: %s\n\n", machine())
	fmt.Fprintf(stdout, "Fast paths on and off: %d rounds of %s a workload, one server at a time, after a 1 s warm-up; "+
		"servers pinned to CPU %s, load to CPU %s. Ratios are to \"all on\" of the same round: the median and the range over rounds.\n",
		o.runs, o.duration, serverCPU, loadCPU)
	for _, l := range loads {
		fmt.Fprintf(stdout, "\n### %s\n\n", l.table)
		fmt.Fprintln(stdout, "| build | rate | rate vs all on | server CPU/op | CPU/op vs all on | server writes/op | p50 | p99 |")
		fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|---:|---:|")
		on := samples[l.table][variants[0].name]
		for _, v := range variants {
			s := samples[l.table][v.name]
			m := median(s)
			rates := ratios(s, on, func(s sample) float64 { return s.rate })
			cpus := ratios(s, on, func(s sample) float64 { return float64(s.cpuPerOp) })
			fmt.Fprintf(stdout, "| %s | %s | %s | %s | %s | %.3g | %s | %s |\n", v.name, rate(m.rate), rates,
				dur(m.cpuPerOp), cpus, m.writesPerOp, dur(m.p50), dur(m.p99))
		}
	}
	return nil
}

// ratios gives the median and range of the ratios of a figure of samples
// to the same figure of base, round by round.
func ratios(samples, base []sample, figure func(sample) float64) string {
	var r []float64
	for i := range min(len(samples), len(base)) {
		if b := figure(base[i]); b != 0 {
			r = append(r, figure(samples[i])/b)
		}
	}
	if len(r) == 0 {
		return "–"
	}
	slices.Sort(r)
	return fmt.Sprintf("%.2f× (%.2f–%.2f)", r[len(r)/2], r[0], r[len(r)-1])
}
