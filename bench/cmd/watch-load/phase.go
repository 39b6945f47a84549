package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	notesv1 "github.com/routeguide/routeguide/bench/gen/routeguide/notes/v1"
)

// phaseFigures is what the poster of one phase reports.
type phaseFigures struct {
	Posts       int64
	Post, Probe [2]time.Duration // p50 and p99
}

// postPhase posts and probes for d from a child process running this
// program with -phase-addr, numbering its notes' locations from first.
// In this process, thousands of runnable watcher goroutines would queue
// the poster's and the probe's goroutines behind them on the one CPU the
// tool runs on, and their latency would be the tool's scheduling, not the
// server's; as a process of its own the poster gets its share of the CPU
// from the kernel whatever the watchers do.
func postPhase(ctx context.Context, addr string, cfg config, d time.Duration, first int32) (phaseFigures, error) {
	self, err := os.Executable()
	if err != nil {
		return phaseFigures{}, err
	}
	args := []string{
		"-phase-addr", addr, "-phase-first", strconv.Itoa(int(first)), "-duration", d.String(),
		"-rate", strconv.FormatFloat(cfg.rate, 'g', -1, 64), "-note-bytes", strconv.Itoa(cfg.noteBytes),
		"-probe-every", cfg.probeEvery.String(), "-area", cfg.areaText,
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return phaseFigures{}, fmt.Errorf("poster: %w", err)
	}
	var f phaseFigures
	if err := json.Unmarshal(out, &f); err != nil {
		return phaseFigures{}, fmt.Errorf("poster's figures: %w", err)
	}
	return f, nil
}

// servePhase is the child's side of postPhase: it posts and probes for
// cfg.duration and writes its figures to stdout as JSON.
func servePhase(ctx context.Context, addr string, cfg config, first int32, stdout io.Writer) error {
	conn, err := dial(addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	probeConn, err := dial(addr)
	if err != nil {
		return err
	}
	defer probeConn.Close()
	p := &poster{client: notesv1.NewNotesServiceClient(conn), area: cfg.area, noteBytes: cfg.noteBytes, n: first}
	var post, probe histogram
	runtime.GC() // see toolHeap
	posts, err := runPhase(ctx, p, probeConn, cfg, cfg.duration, &post, &probe)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(phaseFigures{
		Posts: posts,
		Post:  [2]time.Duration{post.quantile(0.5), post.quantile(0.99)},
		Probe: [2]time.Duration{probe.quantile(0.5), probe.quantile(0.99)},
	})
}
