// Command routeguide-bench measures routeguide-server against a grpc-go
// server with the tutorial's behaviour (cmd/reference-server) and against
// the most net/http can do (cmd/ceiling-server), side by side in one run:
// h2load for unary and server-streaming calls with prebuilt bodies, ghz for
// the gRPC user's view, and Go clients for client streaming and bidi. Servers
// are pinned to one core and the load to the other. It prints medians of
// repeated runs as Markdown and draws cost against dataset size as an SVG.
//
//	go run ./cmd/routeguide-bench -out results
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/internal/synthetic"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "routeguide-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	runs      int
	duration  time.Duration
	sizes     []int
	out       string
	protoDir  string
	chatIdle  int
	skipLarge bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("routeguide-bench", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var o options
	flags.IntVar(&o.runs, "runs", 3, "measured runs of each workload; the report gives medians")
	flags.DurationVar(&o.duration, "duration", 3*time.Second, "length of each measured run (whole seconds)")
	sizes := flags.String("sizes", "100,10000,1000000", "dataset sizes of the scale sweep, comma-separated")
	flags.StringVar(&o.out, "out", "results", "`directory` for results.md and scale.svg")
	flags.StringVar(&o.protoDir, "proto", "../proto", "`directory` holding routeguide/route_guide.proto, for ghz")
	flags.IntVar(&o.chatIdle, "idle-chats", 2000, "RouteChat streams to hold open for the memory figure")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 100 {
			return fmt.Errorf("-sizes: %q is not a size of 100 or more", s)
		}
		o.sizes = append(o.sizes, n)
	}
	if o.duration < time.Second {
		return errors.New("-duration: at least 1s")
	}
	if os.Getenv(pinnedEnv) == "" && runtime.NumCPU() < 2 {
		return errors.New("need two CPUs: one for the servers, one for the load")
	}
	if relaunched, err := pinSelf(ctx, args); relaunched || err != nil {
		return err
	}
	protoDir, err := filepath.Abs(o.protoDir)
	if err != nil {
		return err
	}
	o.protoDir = protoDir

	work, err := os.MkdirTemp("", "routeguide-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	fmt.Fprintln(stderr, "building servers and ghz")
	bins, err := build(ctx, work)
	if err != nil {
		return err
	}
	b := &bench{o: o, bins: bins, work: work, log: stderr, datasets: make(map[int]string)}
	r := &report{machine: machine(), options: o}
	if err := b.headline(ctx, r); err != nil {
		return err
	}
	if err := b.sweep(ctx, r); err != nil {
		return err
	}
	if err := b.memory(ctx, r); err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	var md strings.Builder
	r.write(&md)
	fmt.Fprint(stdout, md.String())
	if err := os.WriteFile(filepath.Join(o.out, "results.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.out, "scale.svg"), []byte(r.chart()), 0o644)
}

type bench struct {
	o        options
	bins     binaries
	work     string
	log      io.Writer
	datasets map[int]string
}

// dataset writes the synthetic dataset of n features once and returns its
// file.
func (b *bench) dataset(n int) (string, error) {
	if path, ok := b.datasets[n]; ok {
		return path, nil
	}
	path := filepath.Join(b.work, fmt.Sprintf("features-%d.json", n))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := synthetic.WriteJSON(f, synthetic.Features(n, 1)); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	b.datasets[n] = path
	return path, nil
}

// servers starts ours, the reference and, if ceiling, the ceiling server
// with and without batched writes, over the dataset of n features, in that
// order. The caller must stop them.
func (b *bench) servers(ctx context.Context, n int, ceiling bool) ([]*process, error) {
	path, err := b.dataset(n)
	if err != nil {
		return nil, err
	}
	var procs []*process
	for _, s := range []struct {
		name, bin string
		args      []string
	}{
		{"ceiling", "ceiling-server", nil},
		{"ceiling-batched", "ceiling-server", []string{"-batch"}},
		{"reference", "reference-server", nil},
		{"routeguide", "routeguide-server", nil},
	} {
		if strings.HasPrefix(s.name, "ceiling") && !ceiling {
			continue
		}
		p, err := start(ctx, s.name, b.bins.path(s.bin), append([]string{"--features", path}, s.args...)...)
		if err != nil {
			stopAll(procs)
			return nil, err
		}
		procs = append(procs, p)
	}
	return procs, nil
}

func stopAll(procs []*process) {
	for _, p := range procs {
		p.stop()
	}
}

// repeat measures one workload o.runs times, after a warm-up run, and
// records the samples under name.
func (b *bench) repeat(r *report, table, name string, p *process, load func() (float64, sample, error)) error {
	fmt.Fprintf(b.log, "%s: %s\n", table, name)
	if _, _, err := load(); err != nil { // warm-up
		return fmt.Errorf("%s, %s: %w", table, name, err)
	}
	for range b.o.runs {
		s, err := measure(p, load)
		if err != nil {
			return fmt.Errorf("%s, %s: %w", table, name, err)
		}
		r.add(table, name, s)
	}
	return nil
}

// headline runs the side-by-side workloads of the issue over 100 features.
func (b *bench) headline(ctx context.Context, r *report) error {
	const n = 100
	procs, err := b.servers(ctx, n, true)
	if err != nil {
		return err
	}
	defer stopAll(procs)
	ceiling, ceilingBatched, reference, ours := procs[0], procs[1], procs[2], procs[3]
	features := synthetic.Features(n, 1)
	hit := features[n/2].GetLocation()
	d := b.o.duration
	if err := checkServer(ctx, ours, features); err != nil {
		return err
	}
	if err := checkServer(ctx, reference, features); err != nil {
		return err
	}

	get := func(protocol string) h2loadLoad {
		l := protocolLoad(protocol, routeguideconnect.RouteGuideGetFeatureProcedure, hit, true)
		l.conns, l.streams, l.perResponse = 1, 64, 1
		return l
	}
	list := func(protocol string) h2loadLoad {
		l := protocolLoad(protocol, routeguideconnect.RouteGuideListFeaturesProcedure, synthetic.Region, false)
		l.conns, l.streams, l.perResponse = 1, 16, n
		return l
	}
	h2 := func(p *process, l h2loadLoad) func() (float64, sample, error) {
		return func() (float64, sample, error) { return runH2load(ctx, b.work, p.url(), l, d) }
	}
	type step struct {
		table, name string
		p           *process
		load        func() (float64, sample, error)
	}
	route := make([]*routeguide.Point, 1000)
	for i := range route {
		route[i] = features[(i*7)%n].GetLocation()
	}
	steps := []step{
		{tGetH2, "ceiling (net/http, prebuilt)", ceiling, h2(ceiling, get("grpc"))},
		{tGetH2, "ceiling, batched writes", ceilingBatched, h2(ceilingBatched, get("grpc"))},
		{tGetH2, "grpc-go reference", reference, h2(reference, get("grpc"))},
		{tGetH2, "routeguide gRPC", ours, h2(ours, get("grpc"))},
		{tGetH2, "routeguide gRPC-Web", ours, h2(ours, get("grpcweb"))},
		{tGetH2, "routeguide Connect", ours, h2(ours, get("connect"))},
		{tGetGhz, "grpc-go reference", reference, func() (float64, sample, error) {
			return runGhz(ctx, b.bins.path("ghz"), b.o.protoDir, reference.addr, hit, 64, d)
		}},
		{tGetGhz, "routeguide", ours, func() (float64, sample, error) {
			return runGhz(ctx, b.bins.path("ghz"), b.o.protoDir, ours.addr, hit, 64, d)
		}},
		{tList, "ceiling (net/http, prebuilt, no flush)", ceiling, h2(ceiling, list("grpc"))},
		{tList, "ceiling, batched writes", ceilingBatched, h2(ceilingBatched, list("grpc"))},
		{tList, "grpc-go reference", reference, h2(reference, list("grpc"))},
		{tList, "routeguide gRPC", ours, h2(ours, list("grpc"))},
		{tList, "routeguide gRPC-Web", ours, h2(ours, list("grpcweb"))},
		{tList, "routeguide Connect", ours, h2(ours, list("connect"))},
		{tRecord, "grpc-go reference", reference, func() (float64, sample, error) {
			return runRecordRoute(ctx, reference.url(), route, 16, d)
		}},
		{tRecord, "routeguide", ours, func() (float64, sample, error) { return runRecordRoute(ctx, ours.url(), route, 16, d) }},
		{tChat, "grpc-go reference", reference, func() (float64, sample, error) { return runRouteChat(ctx, reference.url(), 16, d) }},
		{tChat, "routeguide", ours, func() (float64, sample, error) { return runRouteChat(ctx, ours.url(), 16, d) }},
		{tPing, "grpc-go reference", reference, func() (float64, sample, error) { return runPingPong(ctx, reference.url(), 2000) }},
		{tPing, "routeguide", ours, func() (float64, sample, error) { return runPingPong(ctx, ours.url(), 2000) }},
	}
	for _, s := range steps {
		if err := b.repeat(r, s.table, s.name, s.p, s.load); err != nil {
			return err
		}
	}
	return nil
}

// sweep measures GetFeature, ListFeatures of a ~100-feature rectangle and
// RecordRoute as the dataset grows.
func (b *bench) sweep(ctx context.Context, r *report) error {
	for _, n := range b.o.sizes {
		procs, err := b.servers(ctx, n, false)
		if err != nil {
			return err
		}
		features := synthetic.Features(n, 1)
		hit := features[n/2].GetLocation()
		rect := synthetic.Rectangle(n, 100)
		for _, p := range procs {
			get := protocolLoad("grpc", routeguideconnect.RouteGuideGetFeatureProcedure, hit, true)
			get.conns, get.streams, get.perResponse = 1, 64, 1
			list := protocolLoad("grpc", routeguideconnect.RouteGuideListFeaturesProcedure, rect, false)
			list.conns, list.streams, list.perResponse = 1, 16, 1
			// The reference scans every feature for every point, so its
			// routes are shortened to keep a call under a second or so;
			// the figure is per point either way.
			points := 1000
			if p.name == "reference" {
				points = max(1, min(1000, 10_000_000/n))
			}
			route := make([]*routeguide.Point, points)
			for i := range route {
				route[i] = features[(i*7919)%n].GetLocation()
			}
			for _, w := range []struct {
				workload string
				load     func() (float64, sample, error)
			}{
				{wGet, func() (float64, sample, error) { return runH2load(ctx, b.work, p.url(), get, b.o.duration) }},
				{wList, func() (float64, sample, error) { return runH2load(ctx, b.work, p.url(), list, b.o.duration) }},
				{wRecord, func() (float64, sample, error) { return runRecordRoute(ctx, p.url(), route, 8, b.o.duration) }},
			} {
				if err := b.repeat(r, sweepTable(w.workload, n), p.name, p, w.load); err != nil {
					stopAll(procs)
					return err
				}
			}
		}
		stopAll(procs)
	}
	return nil
}

// memory records resident memory with the largest dataset loaded and per
// idle RouteChat stream.
func (b *bench) memory(ctx context.Context, r *report) error {
	n := b.o.sizes[len(b.o.sizes)-1]
	procs, err := b.servers(ctx, n, false)
	if err != nil {
		return err
	}
	defer stopAll(procs)
	time.Sleep(2 * time.Second) // let the loading garbage go
	for _, p := range procs {
		rss, err := p.rss()
		if err != nil {
			return err
		}
		r.memory = append(r.memory, memoryFigure{what: fmt.Sprintf("RSS with %d features loaded, idle", n), server: p.name, bytes: rss})
		perChat, err := idleChatMemory(ctx, p, b.o.chatIdle)
		if err != nil {
			return fmt.Errorf("idle chats on %s: %w", p.name, err)
		}
		r.memory = append(r.memory, memoryFigure{what: fmt.Sprintf("RSS per idle RouteChat stream (%d open)", b.o.chatIdle), server: p.name, bytes: perChat})
	}
	return nil
}

// checkServer makes sure the server answers correctly before it is timed:
// h2load only sees HTTP status codes.
func checkServer(ctx context.Context, p *process, features []*routeguide.Feature) error {
	// The reference speaks only gRPC; ours is checked in every protocol.
	return verify(ctx, p.url(), features, p.name == "routeguide")
}
