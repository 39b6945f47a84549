// Command routeguide-soak puts a RouteGuide server under load and checks
// what it answers: RouteChat's notes against an oracle, streams held open for
// a long time, a RecordRoute push past the server's cap, notes at a million
// locations, a drain under load, and a cluster under faults (nemesis). Each
// mode prints its figures and exits non-zero when the server broke a promise.
//
// Usage:
//
//	routeguide-soak MODE [flags]
//
// where MODE is chat, streams, route-push, locations, drain or nemesis; run
// routeguide-soak MODE -h for the flags of each.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "routeguide-soak:", err)
		os.Exit(1)
	}
}

// errViolation marks a run that completed but found the server at fault.
var errViolation = errors.New("the server broke a promise")

// modes are the tool's subcommands by name.
var modes = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"chat":       runChat,
	"streams":    runStreams,
	"route-push": runRoutePush,
	"locations":  runLocations,
	"drain":      runDrain,
	"nemesis":    runNemesis,
}

// run runs the mode named by args[0] with the rest of args as its flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, "usage: routeguide-soak chat|streams|route-push|locations|drain|nemesis [flags]")
		if len(args) == 0 {
			return errors.New("no mode given")
		}
		return nil
	}
	mode, ok := modes[args[0]]
	if !ok {
		return fmt.Errorf("unknown mode %q: want chat, streams, route-push, locations, drain or nemesis", args[0])
	}
	// Samples are printed while the mode prints its own lines.
	out := &lockedWriter{w: stdout}
	if stderr == stdout {
		return mode(ctx, args[1:], out, out)
	}
	return mode(ctx, args[1:], out, stderr)
}

// lockedWriter lets several goroutines write whole lines to one writer.
type lockedWriter struct {
	mu sync.Mutex // protects w
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
