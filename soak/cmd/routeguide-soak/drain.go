package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/client"
)

// streamEnd is how one stream ended, seen from its client.
type streamEnd struct {
	kind string
	at   time.Time
	err  error
}

// runDrain opens many streams of every kind and a unary load, sends the
// server SIGTERM, and checks that the streams end with unavailable at once,
// that no accepted unary call fails, and that the server exits cleanly.
func runDrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("drain", flag.ContinueOnError)
	flags.SetOutput(stderr)
	target := addTargetFlags(flags)
	streams := flags.Int("streams", 500, "streams opened: ListFeatures, RecordRoute and RouteChat in turn")
	stalled := flags.Int("stalled", 0, "further ListFeatures streams whose clients stop reading, and read again only 15s after SIGTERM")
	perConnection := flags.Int("per-connection", 50, "streams per client connection")
	features := flags.Int("features", 200_000, "features in the synthetic dataset the server lists")
	getters := flags.Int("getters", 4, "clients calling GetFeature in a loop, each on its own connection")
	hold := flags.Duration("hold", 2*time.Second, "how long to run with every stream open before SIGTERM")
	within := flags.Duration("within", time.Second, "how soon after SIGTERM every stream must have ended")
	window := flags.Int("stream-window", 64<<10, "bytes a stream may buffer unread at the client, which a ListFeatures client reads through before it sees the stream end (Go's default is 4 MiB)")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if target.addr != "" {
		return errors.New("drain signals the server, so it must start it: do not give --addr")
	}
	if *streams < 0 || *stalled < 0 || *perConnection < 1 || *features < 1 || *getters < 0 {
		return errors.New("--streams, --stalled, --getters must not be negative; --per-connection and --features must be positive")
	}
	dir, err := os.MkdirTemp("", "routeguide-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dataset, err := writeFeatures(dir, *features)
	if err != nil {
		return err
	}
	t, err := target.start(ctx, stdout, stderr, "--features="+dataset)
	if err != nil {
		return err
	}
	t.streamWindow = *window
	fmt.Fprintf(stdout, "drain: %d streams (+%d stalled), %d features, %d GetFeature clients; protocol %s\n",
		*streams, *stalled, *features, *getters, target.protocol)

	// The calls are ended by the server; cancel only cleans up after it.
	callCtx, cancelCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCalls()
	term := make(chan struct{}) // closed at SIGTERM
	var termAt time.Time
	var opened sync.WaitGroup
	ends := make([]streamEnd, *streams+*stalled)
	var wg sync.WaitGroup
	var c *client.Client
	for i := range ends {
		if i%*perConnection == 0 {
			if c, err = t.client(); err != nil {
				cancelCalls()
				wg.Wait()
				t.stop(stdout)
				return err
			}
		}
		conn := c
		opened.Add(1)
		open := sync.OnceFunc(opened.Done)
		var call func() error
		switch {
		case i >= *streams:
			ends[i].kind = "ListFeatures (stalled)"
			call = func() error { return listSlowly(callCtx, conn, open, term, 15*time.Second) }
		case i%3 == 0:
			ends[i].kind = "ListFeatures"
			call = func() error { return listSlowly(callCtx, conn, open, term, 0) }
		case i%3 == 1:
			ends[i].kind = "RecordRoute"
			call = func() error { return recordSlowly(callCtx, conn, open, term) }
		default:
			ends[i].kind = "RouteChat"
			call = func() error { return chatSlowly(callCtx, conn, i, open, term) }
		}
		wg.Go(func() {
			err := call()
			ends[i].at, ends[i].err = time.Now(), err
		})
	}
	allOpen := make(chan struct{})
	go func() { opened.Wait(); close(allOpen) }()
	select {
	case <-allOpen:
	case <-time.After(time.Minute):
		fmt.Fprintln(stdout, "not every stream had opened after a minute; sending SIGTERM anyway")
	}

	var refused atomic.Int64
	notAccepted := func(err error) bool {
		if errors.Is(err, syscall.ECONNREFUSED) {
			refused.Add(1)
			return true
		}
		return false
	}
	unary := newUnaryLoad()
	getCtx, stopGetters := context.WithCancel(callCtx)
	defer stopGetters()
	var getWG sync.WaitGroup
	for range *getters {
		gc, err := t.client()
		if err != nil {
			return err
		}
		getWG.Go(func() { unary.run(getCtx, gc, notAccepted) })
	}
	time.Sleep(*hold)

	termAt = time.Now()
	if err := t.proc.sigterm(); err != nil {
		return fmt.Errorf("signal the server: %w", err)
	}
	close(term)
	var exitAfter time.Duration
	select {
	case <-t.proc.exited:
		exitAfter = time.Since(termAt)
	case <-time.After(time.Minute):
		fmt.Fprintln(stdout, "the server had not exited a minute after SIGTERM")
	}
	time.Sleep(200 * time.Millisecond) // calls to a server that is gone
	stopGetters()
	getWG.Wait()
	doneWaiting := make(chan struct{})
	go func() { wg.Wait(); close(doneWaiting) }()
	select {
	case <-doneWaiting:
	case <-time.After(30 * time.Second):
		fmt.Fprintln(stdout, "some streams had not ended 30s after the server exited; cancelling them")
		cancelCalls()
		wg.Wait()
	}
	stopErr := t.stop(stdout)

	violations := summarizeEnds(stdout, ends, termAt, *within)
	fmt.Fprintf(stdout, "server exited %v after SIGTERM\n", exitAfter.Round(time.Millisecond))
	failed := unary.print(stdout, "GetFeature during the drain")
	fmt.Fprintf(stdout, "GetFeature calls refused a connection after the listener closed (not accepted): %d\n", refused.Load())
	printMemory(stdout, t)
	if violations+failed > 0 {
		return fmt.Errorf("%w: %d streams did not end with unavailable within %v, %d GetFeature calls failed",
			errViolation, violations, *within, failed)
	}
	return stopErr
}

// summarizeEnds prints how the streams of each kind ended and returns how
// many did not end with unavailable within the time allowed.
func summarizeEnds(stdout io.Writer, ends []streamEnd, termAt time.Time, within time.Duration) int {
	type tally struct {
		n, prompt int
		latest    time.Duration
		latencies []time.Duration
		other     map[string]int
	}
	byKind := make(map[string]*tally)
	var kinds []string
	violations := 0
	for _, e := range ends {
		k := byKind[e.kind]
		if k == nil {
			k = &tally{other: make(map[string]int)}
			byKind[e.kind] = k
			kinds = append(kinds, e.kind)
		}
		k.n++
		after := e.at.Sub(termAt)
		code := connect.CodeOf(e.err)
		switch {
		case e.err == nil:
			k.other["ended ok"]++
		case code == connect.CodeUnavailable && e.at.After(termAt) && after <= within:
			k.prompt++
		case code == connect.CodeUnavailable && e.at.After(termAt):
			k.other[fmt.Sprintf("unavailable after %v", after.Round(time.Millisecond))]++
		default:
			k.other[fmt.Sprintf("%s at %+v: %v", code, after.Round(time.Millisecond), e.err)]++
		}
		if e.at.After(termAt) {
			k.latest = max(k.latest, after)
			k.latencies = append(k.latencies, after)
		}
	}
	slices.Sort(kinds)
	for _, name := range kinds {
		k := byKind[name]
		slices.Sort(k.latencies)
		median := time.Duration(0)
		if len(k.latencies) > 0 {
			median = k.latencies[len(k.latencies)/2]
		}
		fmt.Fprintf(stdout, "%-23s %d streams: %d ended unavailable within %v of SIGTERM (median %v, latest %v)\n",
			name, k.n, k.prompt, within, median.Round(time.Millisecond), k.latest.Round(time.Millisecond))
		for msg, n := range k.other {
			fmt.Fprintf(stdout, "  %d× %s\n", n, msg)
		}
		violations += k.n - k.prompt
	}
	return violations
}
