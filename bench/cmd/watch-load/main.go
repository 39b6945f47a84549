// Command watch-load measures what WatchNotes watchers cost a server: it
// opens watchers, posts notes at a steady rate from another client, and
// reports deliveries per second, the delay from post to watcher, PostNote's
// and a GetFeature probe's latency meanwhile, the server's CPU per delivery
// and its memory per watcher, idle and replaying without reading. Its
// clients are grpc-go's; it runs on loopback, and every loop ends with its
// phase's duration.
//
// Given servers to start (-server name=command...), it starts each afresh
// for every measurement, one after the other in each run, so that their
// figures come from the same minutes of a shared machine, and prints the
// medians over -runs and each server's ratio to the -against one. Given
// -addr (and -pid for the CPU and memory figures), it loads that server.
//
//	go build -o /tmp/rg ./server/cmd/routeguide-server   # from the repository
//	cd bench && go build -o /tmp/ref ./cmd/reference-server
//	taskset -c 0 go run ./cmd/watch-load -server routeguide=/tmp/rg -server reference=/tmp/ref \
//	    -watchers 1000,10000 -runs 3
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/routeguide/routeguide/bench/internal/benchserver"
	"github.com/routeguide/routeguide/gen/routeguide"
)

func main() {
	benchserver.Main("watch-load", func(ctx context.Context, args []string, stderr io.Writer) error {
		return run(ctx, args, os.Stdout, stderr)
	})
}

// serverFlags collects -server name=command arguments.
type serverFlags []serverSpec

type serverSpec struct {
	name    string
	command []string
}

func (f *serverFlags) String() string { return fmt.Sprint(*f) }

func (f *serverFlags) Set(v string) error {
	name, command, ok := strings.Cut(v, "=")
	if !ok || name == "" || strings.TrimSpace(command) == "" {
		return errors.New("want name=command [args]")
	}
	*f = append(*f, serverSpec{name: name, command: strings.Fields(command)})
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("watch-load", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var servers serverFlags
	flags.Var(&servers, "server", "`name=command [args]` of a server to start for each measurement, with --addr appended; repeatable")
	addr := flags.String("addr", "", "`address` of a running server to load instead of starting one")
	pid := flags.Int("pid", 0, "`PID` of the -addr server, for its CPU time and memory")
	cpu := flags.String("server-cpu", "1", "`CPU` list the started servers are pinned to with taskset; empty: not pinned")
	watchers := flags.String("watchers", "1000", "comma-separated `counts` of watchers to measure at")
	conns := flags.Int("conns", 0, "`connections` the watchers are spread over (default: one per 200 watchers)")
	rate := flags.Float64("rate", 20, "notes posted per `second`")
	duration := flags.Duration("duration", 20*time.Second, "how long to post with the watchers open")
	baseline := flags.Duration("baseline", 5*time.Second, "how long to post before any watcher opens, for PostNote's and GetFeature's latency without watchers")
	area := flags.String("area", "", "`lo_lat,lo_lng,hi_lat,hi_lng` each watcher watches, notes posted inside it (default: the world)")
	noteBytes := flags.Int("note-bytes", 128, "length of each note's text, the send time included")
	probeEvery := flags.Duration("probe-every", 20*time.Millisecond, "pause between GetFeature probes")
	replayWatchers := flags.Int("replay-watchers", 2000, "non-reading watchers replaying from after_sequence=0, for their memory; 0: not measured")
	replayNotes := flags.Int("replay-notes", 1000, "notes stored before the replaying watchers open")
	runs := flags.Int("runs", 3, "measurements of every point; medians are reported")
	against := flags.String("against", "reference", "`name` of the server the others are compared with")
	out := flags.String("out", "", "also write the report to this markdown `file`")
	// The poster's process: see postPhase.
	phaseAddr := flags.String("phase-addr", "", "(internal) post and probe for -duration against this `address`, and print the figures")
	phaseFirst := flags.Int("phase-first", 1, "(internal) number the posted notes' locations from `n`")
	toolHeap := flags.Int64("tool-heap", 4<<30, "`bytes` of heap this tool grows to before it collects garbage, other than before each measured phase")
	if err := flags.Parse(args); err != nil {
		return err
	}
	// The tool's own collections took 110-150 ms with 10,000 streams open,
	// on the core that its watchers and its poster share: one that fell in a
	// fan-out held the last watchers' reads and the probes behind it, and
	// the delays measured were the tool's. It collects before each measured
	// phase and otherwise only past toolHeap.
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(*toolHeap)
	counts, err := parseCounts(*watchers)
	if err != nil {
		return fmt.Errorf("-watchers: %w", err)
	}
	cfg := config{areaText: *area, conns: *conns, rate: *rate, duration: *duration, baseline: *baseline, noteBytes: *noteBytes, probeEvery: *probeEvery}
	if *area != "" {
		if cfg.area, err = parseArea(*area); err != nil {
			return fmt.Errorf("-area: %w", err)
		}
	}
	if cfg.rate <= 0 || cfg.duration <= 0 || cfg.baseline <= 0 || *runs < 1 {
		return errors.New("-rate, -duration, -baseline and -runs must be positive")
	}
	if *phaseAddr != "" {
		return servePhase(ctx, *phaseAddr, cfg, int32(*phaseFirst), stdout)
	}
	if (len(servers) == 0) == (*addr == "") {
		return errors.New("give either -server (one or more) or -addr")
	}
	if *addr != "" && *pid == 0 {
		return errors.New("-addr needs -pid, the server's process ID, for its CPU time and memory")
	}

	// start returns the server for one measurement: a fresh one of spec, or
	// the -addr one.
	start := func(spec serverSpec) (*server, error) {
		if *addr != "" {
			return &server{name: "server", addr: *addr, pid: *pid}, nil
		}
		return startServer(ctx, spec.name, spec.command, *cpu)
	}
	if *addr != "" {
		servers = serverFlags{{name: "server"}}
	}
	rep := &report{against: *against, cfg: cfg, args: args}
	for i := range *runs {
		for _, n := range counts {
			for _, spec := range servers {
				s, err := start(spec)
				if err != nil {
					return err
				}
				c := cfg
				c.watchers = n
				r, err := measure(ctx, s, c)
				s.stop()
				if err != nil {
					return fmt.Errorf("%s, %d watchers: %w", spec.name, n, err)
				}
				r.run = i
				rep.results = append(rep.results, r)
				fmt.Fprintln(stderr, r)
			}
		}
		if *replayWatchers == 0 {
			continue
		}
		for _, spec := range servers {
			s, err := start(spec)
			if err != nil {
				return err
			}
			r, err := measureReplay(ctx, s, *replayWatchers, *replayNotes, *noteBytes)
			s.stop()
			if err != nil {
				return fmt.Errorf("%s, replaying watchers: %w", spec.name, err)
			}
			r.run = i
			rep.replays = append(rep.replays, r)
			fmt.Fprintf(stderr, "%s: %d replaying watchers that never read (%d notes stored): %.1f KiB each\n", r.server, r.watchers, r.notes, r.perWatcher/1024)
		}
	}
	text := rep.markdown()
	fmt.Fprint(stdout, text)
	if *out != "" {
		return os.WriteFile(*out, []byte(text), 0o644)
	}
	return nil
}

func parseCounts(s string) ([]int, error) {
	var counts []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		counts = append(counts, n)
	}
	return counts, nil
}

func parseArea(s string) (*routeguide.Rectangle, error) {
	var v [4]int32
	fields := strings.Split(s, ",")
	if len(fields) != 4 {
		return nil, errors.New("want lo_lat,lo_lng,hi_lat,hi_lng in E7 degrees")
	}
	for i, f := range fields {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", f, err)
		}
		v[i] = int32(n)
	}
	return &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: v[0], Longitude: v[1]},
		Hi: &routeguide.Point{Latitude: v[2], Longitude: v[3]},
	}, nil
}
