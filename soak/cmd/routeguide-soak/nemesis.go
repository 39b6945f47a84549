package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/cluster"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// nemesisFlags are the nemesis mode's flags.
type nemesisFlags struct {
	duration       time.Duration
	seed           uint64
	faults         string
	targets        string
	interval       time.Duration
	maxPause       time.Duration
	posters        int
	chatters       int
	areaWatchers   int
	worldWatchers  int
	rate           float64
	locations      int
	perLocation    int
	storedBytes    int64
	callDeadline   time.Duration
	streamDeadline time.Duration
	margin         time.Duration
	settle         time.Duration
	protocol       string
	serverBin      string
	natsBin        string
	repo           string
	dir            string
	clusterLog     bool
}

func (f *nemesisFlags) register(flags *flag.FlagSet) {
	flags.DurationVar(&f.duration, "duration", 2*time.Minute, "how long the load and the faults last; then the watchers settle")
	flags.Uint64Var(&f.seed, "seed", 0, "seed of every random choice, printed for a replay (default: a random one)")
	flags.StringVar(&f.faults, "faults", "kill,stop", "faults to inject: kill (SIGKILL, start again), stop (SIGSTOP, SIGCONT), or both")
	flags.StringVar(&f.targets, "targets", "nats,replica", "processes to fault: nats (the NATS nodes), replica (the routeguide-server replicas), or both")
	flags.DurationVar(&f.interval, "fault-interval", 5*time.Second, "mean time between two faults")
	flags.DurationVar(&f.maxPause, "max-pause", 5*time.Second, "longest a faulted process stays down or stopped")
	flags.IntVar(&f.posters, "posters", 3, "clients posting notes with PostNote")
	flags.IntVar(&f.chatters, "chatters", 3, "clients sending notes on RouteChat")
	flags.IntVar(&f.areaWatchers, "area-watchers", 3, "WatchNotes clients following an area")
	flags.IntVar(&f.worldWatchers, "world-watchers", 2, "WatchNotes clients following the whole world")
	flags.Float64Var(&f.rate, "rate", 30, "notes per second, over all posters and chatters")
	flags.IntVar(&f.locations, "locations", 100, "locations the notes go to")
	flags.IntVar(&f.perLocation, "max-notes-per-location", 1000, "the replicas' --max-notes-per-location; the load never sends more to one location")
	flags.Int64Var(&f.storedBytes, "max-stored-note-bytes", 64<<20, "the replicas' --max-stored-note-bytes; the load never sends more")
	flags.DurationVar(&f.callDeadline, "call-deadline", 5*time.Second, "deadline of every PostNote")
	flags.DurationVar(&f.streamDeadline, "stream-deadline", 30*time.Second, "deadline of every RouteChat and WatchNotes call")
	flags.DurationVar(&f.margin, "hang-margin", 5*time.Second, "how long past its deadline a call may return before it counts as hung")
	flags.DurationVar(&f.settle, "settle", time.Minute, "longest the watchers may take, after the load, to get every acknowledged note")
	flags.StringVar(&f.protocol, "protocol", "grpc", "RPC protocol: connect, grpc or grpcweb")
	flags.StringVar(&f.serverBin, "server-bin", "", "routeguide-server `binary` (default: go build it)")
	flags.StringVar(&f.natsBin, "nats-bin", "", "nats-server `binary` (default: the one tools/go.mod pins)")
	flags.StringVar(&f.repo, "repo", "", "`directory` of the routeguide module (default: found above the working directory)")
	flags.StringVar(&f.dir, "dir", "", "`directory` for the cluster's configuration, logs and storage, kept (default: a temporary one, kept only after a violation)")
	flags.BoolVar(&f.clusterLog, "cluster-log", false, "print every start and exit of a cluster process")
}

func (f *nemesisFlags) check() error {
	switch {
	case f.duration <= 0 || f.interval <= 0 || f.maxPause <= 0 || f.settle < 0:
		return errors.New("-duration, -fault-interval and -max-pause must be positive, -settle not negative")
	case f.posters < 0 || f.chatters < 0 || f.posters+f.chatters == 0:
		return errors.New("-posters and -chatters must not be negative, and not both 0")
	case f.areaWatchers < 0 || f.worldWatchers < 0 || f.areaWatchers+f.worldWatchers == 0:
		return errors.New("-area-watchers and -world-watchers must not be negative, and not both 0")
	case f.posters+f.chatters+f.areaWatchers+f.worldWatchers > 1000:
		return errors.New("at most 1000 clients in all")
	case f.rate <= 0 || f.rate > 1000*float64(f.posters+f.chatters):
		return errors.New("-rate must be positive, and at most 1000 notes/s for each poster and chatter")
	case f.locations < 1 || f.locations > locationsPerRow:
		return fmt.Errorf("-locations must be in [1, %d]", locationsPerRow)
	case f.perLocation < 1 || f.storedBytes < int64(longestMessage+notesOverheadBytes):
		return errors.New("-max-notes-per-location must be positive and -max-stored-note-bytes hold a note")
	case f.callDeadline <= 0 || f.streamDeadline <= 0 || f.margin < 0:
		return errors.New("-call-deadline and -stream-deadline must be positive, -hang-margin not negative")
	}
	return nil
}

// runNemesis starts a cluster (three NATS nodes, replicas, HAProxy), puts
// it under load through HAProxy while a nemesis kills and stops its
// processes, and checks that every acknowledged note reached every watcher
// whose area holds it, once, in store order, and that no call hung past its
// deadline.
func runNemesis(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	flags := flag.NewFlagSet("nemesis", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var f nemesisFlags
	f.register(flags)
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	kinds, err := parseFaults(f.faults)
	if err != nil {
		return err
	}
	targets, err := parseTargets(f.targets)
	if err != nil {
		return err
	}
	protocol, err := client.ParseProtocol(f.protocol)
	if err != nil {
		return err
	}
	seed := f.seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	fmt.Fprintf(stdout, "nemesis: seed %d (replay the same choices with -seed %d)\n", seed, seed)

	dir, keep := f.dir, f.dir != ""
	if dir == "" {
		if dir, err = os.MkdirTemp("", "routeguide-nemesis-"); err != nil {
			return err
		}
	}
	defer func() {
		if keep || errors.Is(err, errViolation) {
			fmt.Fprintf(stdout, "cluster logs and storage kept in %s\n", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	bins, err := f.binaries(ctx, dir)
	if err != nil {
		return err
	}
	logger := slog.New(slog.DiscardHandler)
	if f.clusterLog {
		logger = slog.New(slog.NewTextHandler(stdout, nil))
	}
	startCtx, cancel := context.WithTimeout(ctx, restartTimeout)
	c, err := cluster.Start(startCtx, cluster.Config{
		Binaries: bins,
		Dir:      dir,
		Logger:   logger,
		ServerArgs: []string{
			// Every client of the load comes from one address: the write
			// budget, which counts by address, would refuse its notes.
			"--write-burst=1000000000", "--write-rate=1000000000",
			fmt.Sprintf("--max-notes-per-location=%d", f.perLocation),
			fmt.Sprintf("--max-stored-note-bytes=%d", f.storedBytes),
		},
	})
	cancel()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	fmt.Fprintf(stdout, "cluster: HAProxy on %s; %d NATS nodes, %d replicas; logs in %s\n", c.Addr(), len(c.NATS()), len(c.Replicas()), dir)
	return f.play(ctx, c, kinds, targets, protocol, seed, stdout)
}

// binaries finds or builds the programs of the cluster.
func (f *nemesisFlags) binaries(ctx context.Context, dir string) (cluster.Binaries, error) {
	haproxy, err := cluster.FindHAProxy()
	if err != nil {
		return cluster.Binaries{}, err
	}
	repo := f.repo
	if repo == "" && (f.serverBin == "" || f.natsBin == "") {
		if repo, err = findModule(); err != nil {
			return cluster.Binaries{}, err
		}
	}
	server := f.serverBin
	if server == "" {
		if server, err = buildServer(ctx, repo, dir, false); err != nil {
			return cluster.Binaries{}, err
		}
	}
	nats := f.natsBin
	if nats == "" {
		if nats, err = cluster.BuildNATS(ctx, repo, dir); err != nil {
			return cluster.Binaries{}, err
		}
	}
	return cluster.Binaries{Server: server, NATS: nats, HAProxy: haproxy}, nil
}

// play runs the load, the nemesis and the checker against c.
func (f *nemesisFlags) play(ctx context.Context, c *cluster.Cluster, kinds, targets []string, protocol client.Protocol, seed uint64, stdout io.Writer) error {
	budget := newNoteBudget(f.locations, f.perLocation, f.storedBytes, longestMessage)
	fmt.Fprintf(stdout, "load: %d posters and %d chatters at %g notes/s over %d locations, %d area and %d world watchers, protocol %s\n",
		f.posters, f.chatters, f.rate, f.locations, f.areaWatchers, f.worldWatchers, protocol)
	fmt.Fprintf(stdout, "store: %d notes per location, %d bytes; the load sends at most %d notes, so none is evicted\n",
		f.perLocation, f.storedBytes, budget.left)
	fmt.Fprintf(stdout, "faults: %s of %s about every %v, each down or stopped up to %v\n",
		strings.Join(kinds, ","), strings.Join(targets, ","), f.interval, f.maxPause)

	start := time.Now()
	l := &load{
		baseURL:        "http://" + c.Addr(),
		protocol:       protocol,
		run:            runID(seed),
		rec:            newRecorder(start),
		budget:         budget,
		period:         time.Duration(float64(f.posters+f.chatters) / f.rate * float64(time.Second)),
		callDeadline:   f.callDeadline,
		streamDeadline: f.streamDeadline,
	}
	// Each client draws from its own stream of the seed, so one client's
	// choices do not depend on how the others' calls went.
	rngOf := func(stream int) *rand.Rand { return rand.New(rand.NewPCG(seed, uint64(stream))) }

	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	var watchers []*watcher
	areaRNG := rngOf(0)
	for i := range f.areaWatchers {
		// A stretch of about a third of the locations.
		width := max(1, f.locations/3)
		first := areaRNG.IntN(f.locations - width + 1)
		area := &routeguide.Rectangle{Lo: l.run.location(first), Hi: l.run.location(first + width - 1)}
		watchers = append(watchers, &watcher{name: fmt.Sprintf("area-watcher-%d", i), area: area, load: l, seen: map[string]bool{}})
	}
	for i := range f.worldWatchers {
		watchers = append(watchers, &watcher{name: fmt.Sprintf("world-watcher-%d", i), load: l, seen: map[string]bool{}})
	}
	var watching sync.WaitGroup
	for _, w := range watchers {
		watching.Go(func() { w.run(watchCtx) })
	}

	runCtx, cancel := context.WithTimeout(ctx, f.duration)
	defer cancel()
	n := &nemesis{
		kinds: kinds, targets: targets, interval: f.interval, maxPause: f.maxPause, rng: rngOf(1),
		nats: c.NATS(), replicas: c.Replicas(), start: start, log: stdout,
		down: map[*cluster.Process]bool{},
	}
	var working sync.WaitGroup
	working.Go(func() { n.run(runCtx) })
	for i := range f.posters {
		working.Go(func() { l.poster(runCtx, fmt.Sprintf("poster-%d", i), rngOf(2+i)) })
	}
	for i := range f.chatters {
		working.Go(func() { l.chatter(runCtx, fmt.Sprintf("chatter-%d", i), rngOf(2+f.posters+i)) })
	}
	// Clients end within a deadline of the run's end, the nemesis once
	// its last fault has healed.
	waitAtMost(&working, f.duration+f.streamDeadline+f.margin+f.maxPause+restartTimeout)
	loadTime := time.Since(start)

	// The watchers go on until each has every acknowledged note of its
	// area, or the settling time is over: what is missing then is lost.
	// Only a client that hung could acknowledge a note after this.
	acked, _ := l.rec.snapshot()
	settleStart := time.Now()
	settled := false
	for !settled && time.Since(settleStart) < f.settle && ctx.Err() == nil {
		settled = true
		for _, w := range watchers {
			if w.missing(acked) > 0 {
				settled = false
				break
			}
		}
		if !settled {
			pause(ctx, 100*time.Millisecond)
		}
	}
	settleTime := time.Since(settleStart)
	stopWatching()
	waitAtMost(&watching, f.margin)

	h := nemesisHistory{acked: acked}
	_, h.calls = l.rec.snapshot()
	for _, w := range watchers {
		h.watchers = append(h.watchers, w.history())
	}
	v := checkHistory(h, f.margin)
	faults := n.snapshot()
	return report(stdout, v, faults, l.rec, loadTime, settleTime, settled, seed)
}

// waitAtMost waits for wg, or d.
func waitAtMost(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// report prints the run's figures and returns errViolation if the cluster
// broke a promise.
func report(stdout io.Writer, v verdict, faults []fault, rec *recorder, loadTime, settleTime time.Duration, settled bool, seed uint64) error {
	byKind := map[string]int{}
	unhealed := 0
	for _, f := range faults {
		byKind[f.kind+" "+f.role]++
		if f.err != nil {
			unhealed++
		}
	}
	var kinds []string
	for k, n := range byKind {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(kinds)
	settledText := "every watcher had every note of its area"
	if !settled {
		settledText = "gave up waiting"
	}
	fmt.Fprintf(stdout, "duration            %v of load and faults, then %v settling (%s)\n",
		loadTime.Round(time.Millisecond), settleTime.Round(time.Millisecond), settledText)
	fmt.Fprintf(stdout, "faults injected     %d: %s; did not heal %d\n", len(faults), strings.Join(kinds, ", "), unhealed)
	fmt.Fprintf(stdout, "notes acknowledged  %d\n", v.acknowledged)
	fmt.Fprintf(stdout, "deliveries checked  %d\n", v.checked)
	fmt.Fprintf(stdout, "notes lost          %d\n", v.lost)
	fmt.Fprintf(stdout, "duplicates          %d\n", v.duplicates)
	fmt.Fprintf(stdout, "out of order        %d\n", v.outOfOrder)
	fmt.Fprintf(stdout, "outside their area  %d\n", v.misplaced)
	fmt.Fprintf(stdout, "hung calls          %d\n", v.hung)
	for _, line := range rec.outcomeLines() {
		fmt.Fprintf(stdout, "calls %s\n", line)
	}
	for _, e := range v.examples {
		fmt.Fprintln(stdout, "violation:", e)
	}
	for _, f := range faults {
		if f.err != nil {
			fmt.Fprintf(stdout, "violation: %s %s at +%v did not heal: %v\n", f.kind, f.target, f.at.Round(time.Millisecond), f.err)
		}
	}
	if n := v.violations() + unhealed; n > 0 {
		return fmt.Errorf("%w: %d violations (seed %d)", errViolation, n, seed)
	}
	return nil
}
