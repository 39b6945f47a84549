package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// noteOverheadBytes is what the server counts for each stored note on top
// of its text, as its --max-stored-note-bytes documents.
const noteOverheadBytes = 256

// runLocations sends each note to a location of its own, on several
// streams, and compares the server's memory with the bound it documents.
func runLocations(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("locations", flag.ContinueOnError)
	flags.SetOutput(stderr)
	target := addTargetFlags(flags)
	locations := flags.Int("locations", 1_000_000, "distinct locations, one note each")
	streams := flags.Int("streams", 8, "RouteChat streams sending in parallel, each on its own connection")
	pad := flags.Int("pad", 0, "bytes of padding added to each note's text")
	storedBytes := flags.Int64("max-stored-note-bytes", 64<<20, "the server's --max-stored-note-bytes (given to a server it starts)")
	duration := flags.Duration("duration", 20*time.Minute, "longest the run may take")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *locations < 1 || *locations > 3_000_000 || *streams < 1 {
		return errors.New("--locations must be between 1 and 3,000,000 and --streams positive")
	}
	t, err := target.start(ctx, stdout, stderr, fmt.Sprintf("--max-stored-note-bytes=%d", *storedBytes))
	if err != nil {
		return err
	}
	run := newRunID()
	padding := strings.Repeat(".", *pad)
	var before sample
	if t.sampler != nil {
		before = t.sampler.now()
	}
	fmt.Fprintf(stdout, "locations: %d notes to distinct locations on %d streams; protocol %s\n", *locations, *streams, target.protocol)

	runCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	logs := make([]*chatLog, *streams)
	var wg sync.WaitGroup
	start := time.Now()
	for s := range logs {
		var locs []int
		for i := s; i < *locations; i += *streams {
			locs = append(locs, i)
		}
		logs[s] = newChatLog(s, locs)
		wg.Go(func() { chatClient(runCtx, t, run, logs[s], padding) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	var after sample
	if t.sampler != nil {
		after = t.sampler.now()
	}
	stopErr := t.stop(stdout)

	// Each location holds one note, so each note's window is itself alone.
	var sent, replies, wrong, failed int
	var textBytes int64
	for _, l := range logs {
		sent += l.sent
		replies += l.replies
		wrong += l.foreign + l.misplaced + l.extra + len(l.cur)
		if l.streamErr != nil {
			failed++
			fmt.Fprintf(stdout, "violation: stream %d ended with %v\n", l.client, l.streamErr)
		}
		for k := range l.sent {
			id := newNoteID(l.client, k)
			textBytes += int64(len(run.message(id, padding)))
			if w := l.window[k]; len(w) != 1 || w[0] != id {
				wrong++
			}
		}
	}
	counted := textBytes + int64(sent)*noteOverheadBytes
	fmt.Fprintf(stdout, "notes sent        %d, replies %d, windows other than the note alone %d, failed streams %d\n", sent, replies, wrong, failed)
	fmt.Fprintf(stdout, "throughput        %.0f notes/s over %v\n", float64(sent)/elapsed.Seconds(), elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "store bound       %s; all notes would count %s, so about %d notes stay stored\n",
		mib(*storedBytes/1024), mib(counted/1024), min(int64(sent), *storedBytes*int64(sent)/max(counted, 1)))
	if t.sampler != nil {
		fmt.Fprintf(stdout, "server rss        %s before, %s after, peak %s: growth %s at the end, %s at the peak\n",
			mib(before.rssKiB), mib(after.rssKiB), mib(t.sampler.peak()),
			mib(after.rssKiB-before.rssKiB), mib(t.sampler.peak()-before.rssKiB))
	}
	printMemory(stdout, t)
	if wrong+failed > 0 {
		return fmt.Errorf("%w: %d wrong replies, %d failed streams", errViolation, wrong, failed)
	}
	return stopErr
}
