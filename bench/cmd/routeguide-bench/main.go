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
	fastPaths bool
	// fastPathsOnly, if set, names the variants -fast-paths measures
	// beside "all on", by the pieces they leave out.
	fastPathsOnly []string
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
	flags.BoolVar(&o.fastPaths, "fast-paths", false,
		"instead of the comparison, measure routeguide-server with each fast path left out against all on, -runs rounds, into fastpaths.md")
	only := flags.String("fast-paths-only", "",
		"with -fast-paths, measure only the builds leaving out these pieces (batchconn, flush, growstack), comma-separated, beside all on")
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
	if *only != "" {
		o.fastPathsOnly = strings.Split(*only, ",")
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
	if o.fastPaths {
		var md strings.Builder
		if err := fastPaths(ctx, o, work, stderr, &md); err != nil {
			return err
		}
		fmt.Fprint(stdout, md.String())
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(o.out, "fastpaths.md"), []byte(md.String()), 0o644)
	}
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
