package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect/v2"
	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// envelopeBytes is the framing each streamed message costs on the wire in
// gRPC, gRPC-Web and the Connect protocol alike.
const envelopeBytes = 5

// runRoutePush pushes RecordRoute points on one stream as fast as it can,
// while other clients call GetFeature, which must keep succeeding.
func runRoutePush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("route-push", flag.ContinueOnError)
	flags.SetOutput(stderr)
	target := addTargetFlags(flags)
	total := flags.Int64("bytes", 1<<30, "bytes of points to push, framing included")
	getters := flags.Int("getters", 2, "clients calling GetFeature meanwhile, each on its own connection")
	duration := flags.Duration("duration", 10*time.Minute, "longest the push may take")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *total < 1 || *getters < 0 {
		return errors.New("--bytes must be positive and --getters not negative")
	}
	t, err := target.start(ctx, stdout, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "route-push: %d bytes of points on one RecordRoute stream, %d GetFeature clients; protocol %s\n",
		*total, *getters, target.protocol)
	pushCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()

	unary := newUnaryLoad()
	getCtx, stopGetters := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range *getters {
		c, err := t.client()
		if err != nil {
			stopGetters()
			t.stop(stdout)
			return err
		}
		wg.Go(func() { unary.run(getCtx, c, nil) })
	}

	c, err := t.client()
	if err != nil {
		stopGetters()
		t.stop(stdout)
		return err
	}
	var points, bytes atomic.Int64
	rng := rand.New(rand.NewPCG(1, 2))
	route := func(yield func(*routeguide.Point) bool) {
		for bytes.Load() < *total {
			p := &routeguide.Point{Latitude: rng.Int32N(1_800_000_000) - 900_000_000, Longitude: rng.Int32N(2_000_000_000) - 1_000_000_000}
			points.Add(1)
			bytes.Add(int64(proto.Size(p) + envelopeBytes))
			if !yield(p) {
				return
			}
		}
	}
	start := time.Now()
	summary, pushErr := c.RecordRoute(pushCtx, route)
	elapsed := time.Since(start)
	stopGetters()
	wg.Wait()
	stopErr := t.stop(stdout)

	// The last point counted may not have been sent: the client stops at
	// the first Send that fails.
	fmt.Fprintf(stdout, "pushed            %d points, %.1f MiB, in %v (%.0f points/s, %.1f MiB/s)\n",
		points.Load(), float64(bytes.Load())/(1<<20), elapsed.Round(time.Millisecond),
		float64(points.Load())/elapsed.Seconds(), float64(bytes.Load())/(1<<20)/elapsed.Seconds())
	if pushErr != nil {
		fmt.Fprintf(stdout, "RecordRoute ended %s: %v\n", connect.CodeOf(pushErr), pushErr)
	} else {
		fmt.Fprintf(stdout, "RecordRoute ended ok: %d points summed\n", summary.GetPointCount())
	}
	failed := unary.print(stdout, "GetFeature meanwhile")
	printMemory(stdout, t)
	if failed > 0 {
		return fmt.Errorf("%w: %d GetFeature calls failed", errViolation, failed)
	}
	return stopErr
}

// unaryLoad calls GetFeature in a loop and keeps count.
type unaryLoad struct {
	mu        sync.Mutex // protects the fields below
	ok        int
	latencies []time.Duration
	failures  map[string]int // by code and message
}

func newUnaryLoad() *unaryLoad {
	return &unaryLoad{failures: make(map[string]int)}
}

// run calls GetFeature until ctx ends. classify, if not nil, may claim an
// error, which is then not counted as a failure.
func (u *unaryLoad) run(ctx context.Context, c interface {
	GetFeature(context.Context, *routeguide.Point) (*routeguide.Feature, error)
}, classify func(error) bool) {
	p := &routeguide.Point{Latitude: 409146138, Longitude: -746188906}
	for ctx.Err() == nil {
		start := time.Now()
		_, err := c.GetFeature(ctx, p)
		took := time.Since(start)
		if ctx.Err() != nil {
			return // cut off by the end of the load, not by the server
		}
		u.mu.Lock()
		switch {
		case err == nil:
			u.ok++
			u.latencies = append(u.latencies, took)
		case classify != nil && classify(err):
		default:
			u.failures[fmt.Sprintf("%s: %v", connect.CodeOf(err), err)]++
		}
		u.mu.Unlock()
	}
}

// print prints the calls' figures and returns how many failed.
func (u *unaryLoad) print(stdout io.Writer, what string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	failed := 0
	for _, n := range u.failures {
		failed += n
	}
	slices.Sort(u.latencies)
	q := func(f float64) time.Duration {
		if len(u.latencies) == 0 {
			return 0
		}
		return u.latencies[int(f*float64(len(u.latencies)-1))].Round(10 * time.Microsecond)
	}
	fmt.Fprintf(stdout, "%s: %d ok, %d failed; latency p50 %v, p99 %v, max %v\n",
		what, u.ok, failed, q(0.5), q(0.99), q(1))
	for msg, n := range u.failures {
		fmt.Fprintf(stdout, "  failed %d× %s\n", n, msg)
	}
	return failed
}
