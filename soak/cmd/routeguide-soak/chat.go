package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// runChat runs RouteChat clients that send unique notes to shared
// locations as fast as the server takes them, and checks every reply
// against the oracle.
func runChat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("chat", flag.ContinueOnError)
	flags.SetOutput(stderr)
	target := addTargetFlags(flags)
	clients := flags.Int("clients", 64, "RouteChat clients, each on its own connection")
	notes := flags.Int("notes", 2000, "notes each client sends")
	locations := flags.Int("locations", 64, "locations the clients share; each note goes to one at random")
	pad := flags.Int("pad", 0, "bytes of padding added to each note's text")
	duration := flags.Duration("duration", 10*time.Minute, "longest the run may take; notes unanswered by then are violations")
	perLocation := flags.Int("max-notes-per-location", 100, "the server's --max-notes-per-location (given to a server it starts)")
	storedBytes := flags.Int64("max-stored-note-bytes", 64<<20, "the server's --max-stored-note-bytes (given to a server it starts)")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *clients < 1 || *notes < 1 || *locations < 1 || *locations > 1_000_000 || *perLocation < 1 {
		return errors.New("--clients, --notes, --locations and --max-notes-per-location must be positive, --locations at most 1,000,000")
	}

	t, err := target.start(ctx, stdout, stderr,
		fmt.Sprintf("--max-notes-per-location=%d", *perLocation),
		fmt.Sprintf("--max-stored-note-bytes=%d", *storedBytes))
	if err != nil {
		return err
	}
	run := newRunID()
	padding := strings.Repeat(".", *pad)
	longest := len(run.message(newNoteID(*clients, *notes), padding))
	// Each location holds at most perLocation notes, so unless they can
	// cost more than the store's bound, nothing is evicted for memory and
	// every window must be full.
	mostStored := min(int64(*clients)*int64(*notes), int64(*locations)*int64(*perLocation))
	full := mostStored*int64(longest+256) <= *storedBytes

	fmt.Fprintf(stdout, "chat: %d clients × %d notes over %d locations, protocol %s; windows must be full: %v\n",
		*clients, *notes, *locations, target.protocol, full)
	runCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	logs := make([]*chatLog, *clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range logs {
		rng := rand.New(rand.NewPCG(uint64(run), uint64(i)))
		locs := make([]int, *notes)
		for k := range locs {
			locs[k] = rng.IntN(*locations)
		}
		logs[i] = newChatLog(i, locs)
		wg.Go(func() { chatClient(runCtx, t, run, logs[i], padding) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	stopErr := t.stop(stdout)

	r := checkChat(logs, *locations, *perLocation, full)
	fmt.Fprintf(stdout, "notes sent        %d\n", r.sent)
	fmt.Fprintf(stdout, "replies received  %d (%d windows complete)\n", r.replies, r.windows)
	fmt.Fprintf(stdout, "lost %d, duplicated %d, reordered %d, other %d, failed streams %d\n",
		r.lost, r.duplicated, r.reordered, r.other, r.streamErrs)
	secs := elapsed.Seconds()
	fmt.Fprintf(stdout, "throughput        %.0f notes/s, %.0f replies/s over %v\n",
		float64(r.sent)/secs, float64(r.replies)/secs, elapsed.Round(time.Millisecond))
	printMemory(stdout, t)
	for _, e := range r.examples {
		fmt.Fprintln(stdout, "violation:", e)
	}
	if r.violations() > 0 {
		return fmt.Errorf("%w: %d violations", errViolation, r.violations())
	}
	return stopErr
}

// chatClient sends its notes on one stream while reading the replies.
func chatClient(ctx context.Context, t *target, run runID, log *chatLog, padding string) {
	c, err := t.client()
	if err != nil {
		log.streamErr = err
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chat := c.RouteChat(ctx)
	var sent atomic.Int64
	var sender sync.WaitGroup
	sender.Go(func() {
		for k, loc := range log.locs {
			note := &routeguide.RouteNote{
				Location: run.location(loc),
				Message:  run.message(newNoteID(log.client, k), padding),
			}
			if err := chat.Send(note); err != nil {
				break // the reason comes from the replies
			}
			sent.Add(1)
		}
		_ = chat.CloseSend()
	})
	log.readReplies(run, chat)
	if log.streamErr == nil && log.next < int(sent.Load()) && ctx.Err() != nil {
		log.streamErr = ctx.Err()
	}
	cancel() // a sender blocked on a stream that failed
	sender.Wait()
	log.sent = int(sent.Load())
}

// readReplies records every reply of chat in the log, until the call ends;
// an error ending it is the log's streamErr.
func (log *chatLog) readReplies(run runID, chat *client.Chat) {
	for reply, err := range chat.Replies() {
		if err != nil {
			log.streamErr = err
			return
		}
		id, known := run.noteOf(reply.GetMessage())
		loc, ok := run.locationIndex(reply.GetLocation())
		if !ok {
			loc = -1
		}
		log.receive(id, known, loc)
	}
}

// printMemory prints the server's memory, threads and goroutines over the
// run.
func printMemory(stdout io.Writer, t *target) {
	if t.sampler == nil {
		fmt.Fprintln(stdout, "server memory     not sampled (server given by --addr)")
		return
	}
	all := t.sampler.all()
	if len(all) == 0 {
		return
	}
	maxThreads, maxGoroutines := 0, -1
	for _, s := range all {
		maxThreads = max(maxThreads, s.threads)
		maxGoroutines = max(maxGoroutines, s.goroutines)
	}
	fmt.Fprintf(stdout, "server rss        first %s, last %s, peak %s; threads at most %d; goroutines first %d, last %d, at most %d\n",
		mib(all[0].rssKiB), mib(all[len(all)-1].rssKiB), mib(t.sampler.peak()), maxThreads,
		all[0].goroutines, all[len(all)-1].goroutines, maxGoroutines)
}
