package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// runStreams holds many quiet RouteChat streams open, each sending a note
// now and then, and reports whether the server's memory stays flat.
func runStreams(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("streams", flag.ContinueOnError)
	flags.SetOutput(stderr)
	target := addTargetFlags(flags)
	streams := flags.Int("streams", 1000, "RouteChat streams held open")
	perConnection := flags.Int("per-connection", 100, "streams per client connection")
	every := flags.Duration("every", 5*time.Second, "how often each stream sends a note")
	duration := flags.Duration("duration", 10*time.Minute, "how long to hold the streams")
	warmup := flags.Duration("warmup", time.Minute, "time before the memory is expected to be flat")
	perLocation := flags.Int("max-notes-per-location", 5, "the server's --max-notes-per-location (given to a server it starts), so that the notes store fills during the warm-up")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *streams < 1 || *perConnection < 1 || *every <= 0 || *duration <= 0 {
		return errors.New("--streams, --per-connection, --every and --duration must be positive")
	}
	t, err := target.start(ctx, stdout, stderr, fmt.Sprintf("--max-notes-per-location=%d", *perLocation))
	if err != nil {
		return err
	}
	run := newRunID()
	fmt.Fprintf(stdout, "streams: %d RouteChat streams, %d per connection, a note each every %v, for %v; protocol %s\n",
		*streams, *perConnection, *every, *duration, target.protocol)

	runCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	notesEach := int(*duration / *every + 2)
	logs := make([]*chatLog, *streams)
	var c *client.Client
	var wg sync.WaitGroup
	start := time.Now()
	for i := range logs {
		if i%*perConnection == 0 {
			if c, err = t.client(); err != nil {
				cancel()
				wg.Wait()
				t.stop(stdout)
				return err
			}
		}
		// Each stream has a location of its own, so a note is answered by
		// that stream's latest notes alone.
		logs[i] = newChatLog(i, slices.Repeat([]int{i}, notesEach))
		// Spread the streams' notes evenly over the interval.
		offset := time.Duration(i) * *every / time.Duration(*streams)
		conn := c
		wg.Go(func() { quietChat(runCtx, conn, run, logs[i], offset, *every) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopErr := t.stop(stdout)

	r := checkChat(logs, *streams, *perLocation, true)
	fmt.Fprintf(stdout, "held %v: notes sent %d, replies %d; lost %d, duplicated %d, reordered %d, other %d, failed streams %d\n",
		elapsed.Round(time.Second), r.sent, r.replies, r.lost, r.duplicated, r.reordered, r.other, r.streamErrs)
	printMemory(stdout, t)
	if t.sampler != nil {
		printFlatness(stdout, t.sampler.all(), *warmup)
	}
	for _, e := range r.examples {
		fmt.Fprintln(stdout, "violation:", e)
	}
	if r.violations() > 0 {
		return fmt.Errorf("%w: %d violations", errViolation, r.violations())
	}
	return stopErr
}

// quietChat sends a note every interval, after offset, until ctx ends, then
// closes its side and reads the remaining replies.
func quietChat(ctx context.Context, c *client.Client, run runID, log *chatLog, offset, every time.Duration) {
	// The call outlives ctx by the time it takes to close it cleanly.
	callCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	chat := c.RouteChat(callCtx)
	var sender sync.WaitGroup
	sender.Go(func() {
		defer func() { _ = chat.CloseSend() }()
		timer := time.NewTimer(offset)
		defer timer.Stop()
		for k, loc := range log.locs {
			select {
			case <-ctx.Done():
				return
			case <-callCtx.Done():
				return
			case <-timer.C:
			}
			note := &routeguide.RouteNote{Location: run.location(loc), Message: run.message(newNoteID(log.client, k), "")}
			if err := chat.Send(note); err != nil {
				return
			}
			log.sent = k + 1
			timer.Reset(every)
		}
	})
	log.readReplies(run, chat)
	if log.streamErr != nil {
		cancel() // a sender blocked on a stream that failed
	}
	sender.Wait()
}

// printFlatness reports how far the server's RSS strayed after the warm-up
// from its first sample after it.
func printFlatness(stdout io.Writer, samples []sample, warmup time.Duration) {
	var after []sample
	for _, s := range samples {
		if s.at >= warmup {
			after = append(after, s)
		}
	}
	if len(after) < 2 {
		fmt.Fprintf(stdout, "rss after the %v warm-up: too few samples to tell\n", warmup)
		return
	}
	ref := float64(after[0].rssKiB)
	lo, hi := ref, ref
	for _, s := range after {
		lo = min(lo, float64(s.rssKiB))
		hi = max(hi, float64(s.rssKiB))
	}
	down, up := (lo/ref-1)*100, (hi/ref-1)*100
	verdict := "flat within ±10%"
	if down < -10 || up > 10 {
		verdict = "NOT flat within ±10%"
	}
	fmt.Fprintf(stdout, "rss after the %v warm-up: %s at %v, then between %+.1f%% and %+.1f%% over %d samples: %s\n",
		warmup, mib(after[0].rssKiB), after[0].at, down, up, len(after), verdict)
}
