// Command profile-server serves RouteGuide exactly as routeguide-server does
// (h2c, the same server.New) while recording a CPU profile, so that the
// profiles behind BENCHMARKS.md come from the server under the harness's
// load rather than from a benchmark that times the client too:
//
//	taskset -c 1 go run ./cmd/profile-server -addr 127.0.0.1:50070 -cpuprofile get.pprof -for 10s &
//	taskset -c 0 h2load ... http://127.0.0.1:50070/routeguide.RouteGuide/GetFeature
//
// With -heapprofile it also writes a heap profile when the time is up, and
// prints the heap and stack memory in use when it starts serving and then,
// so that streams held open meanwhile by cmd/idle-chats can be costed:
//
//	go run ./cmd/profile-server -addr 127.0.0.1:50070 -heapprofile idle.pprof -for 20s &
//	go run ./cmd/idle-chats -url http://127.0.0.1:50070 -n 2000 -hold 25s
//
// With -log it logs every RPC at info, as routeguide-server does with
// --log-level=info, to standard error.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/routeguide/routeguide/bench/internal/benchserver"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "profile-server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	flags := flag.NewFlagSet("profile-server", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var opts benchserver.Flags
	opts.Define(flags, "JSON dataset `file` (default: the embedded dataset)")
	profile := flags.String("cpuprofile", "cpu.pprof", "CPU profile `file` to write")
	heapProfile := flags.String("heapprofile", "", "heap profile `file` to write when the time is up (default: none)")
	logRPCs := flags.Bool("log", false, "log every RPC at info to standard error")
	batch := flags.Bool("batch", true, "gather each connection's writes, as routeguide-server does")
	d := flags.Duration("for", 10*time.Second, "how long to serve and profile")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *heapProfile != "" {
		// Every allocation, so that small per-stream ones are not lost to
		// sampling.
		runtime.MemProfileRate = 1
	}
	features, err := dataset.Open(opts.Features)
	if err != nil {
		return err
	}
	// The load is one client's notes by the thousand: a write budget would
	// profile its refusals.
	options := []server.Option{server.WithWriteBudget(nil)}
	if *logRPCs {
		options = append(options, server.WithLogger(slog.New(slog.NewTextHandler(stderr, nil))))
	}
	handler, err := server.New(features, options...)
	if err != nil {
		return err
	}
	listener, err := benchserver.Listen(opts.Addr, *batch)
	if err != nil {
		return err
	}
	httpServer := benchserver.H2C(handler)
	f, err := os.Create(*profile)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "profile-server listening addr=%s for %s\n", listener.Addr(), *d)
	printMemory(stderr, "start")
	heapErr := make(chan error, 1)
	time.AfterFunc(*d, func() {
		if *heapProfile != "" {
			printMemory(stderr, "end")
			heapErr <- writeHeapProfile(*heapProfile)
		}
		close(heapErr)
		httpServer.Close()
	})
	err = httpServer.Serve(listener)
	pprof.StopCPUProfile()
	if err != http.ErrServerClosed {
		return err
	}
	return <-heapErr
}

// printMemory prints the memory the heap and the goroutines' stacks hold,
// after a collection.
func printMemory(w io.Writer, when string) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Fprintf(w, "memory at %s: heap in use %d B, stacks in use %d B, goroutines %d\n",
		when, m.HeapInuse, m.StackInuse, runtime.NumGoroutine())
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
