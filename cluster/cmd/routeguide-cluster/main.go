// Command routeguide-cluster runs RouteGuide as a cluster on one machine
// until Ctrl-C: three NATS JetStream nodes, routeguide-server replicas that
// keep their notes and write budgets there, the development OpenID provider
// whose users sign in to write, and HAProxy in front. Run it from a
// checkout; it builds what it runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/routeguide/routeguide/cluster"
)

func main() {
	// After the first Ctrl-C, a second one kills the supervisor at once,
	// and the kernel its children with it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "routeguide-cluster:", err)
		os.Exit(1)
	}
}

// startTimeout bounds the start of the processes, once built.
const startTimeout = time.Minute

// run builds the programs, starts the cluster, prints where each part is to
// stdout, and stops the cluster when ctx is done. It logs every start and
// exit of a process to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("routeguide-cluster", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "127.0.0.1:50051", "HAProxy's `address` for clients; port 0 picks a free port")
	statsAddr := flags.String("stats-addr", "127.0.0.1:8404", "`address` of HAProxy's statistics page; port 0 picks a free port")
	idpAddr := flags.String("idp-addr", "127.0.0.1:5556", "`address` of the development OpenID provider, and of its issuer URL; port 0 picks a free port")
	writes := flags.String("writes", "signed-in", "who may post notes: signed-in (users of the OpenID provider) or anyone")
	replicas := flags.Int("replicas", 3, "`number` of routeguide-server replicas")
	restartAfter := flags.Duration("restart-after", 5*time.Second,
		"start a process that exits on its own, or is killed, again after this `long`; 0: leave it down")
	dir := flags.String("dir", "", "`directory` for configuration, logs and NATS storage, kept at exit (default: a temporary one, removed)")
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "Usage: routeguide-cluster [flags] [-- routeguide-server flags]\n\n"+
			"Runs three NATS JetStream nodes, routeguide-server replicas on them, the development\n"+
			"OpenID provider and HAProxy in front, on loopback, until Ctrl-C.\n\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if *replicas < 1 {
		return fmt.Errorf("--replicas %d: want at least 1", *replicas)
	}
	if *writes != "signed-in" && *writes != "anyone" {
		return fmt.Errorf("--writes %q: want signed-in or anyone", *writes)
	}

	// Before the build, which can take minutes: a second cluster on the
	// ports of a first would share them with it without a word.
	if err := cluster.CheckPorts(*addr, *statsAddr, *idpAddr); err != nil {
		return fmt.Errorf("%w: stop what holds it, or pick other ports with --addr, --stats-addr and --idp-addr (port 0 picks a free one)", err)
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	workDir := *dir
	if workDir == "" {
		tmp, err := os.MkdirTemp("", "routeguide-cluster-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		workDir = tmp
	} else if err := os.MkdirAll(workDir, 0o755); err != nil {
		return err
	}

	logger.Info("building routeguide-server, routeguide-idp and nats-server")
	bins, err := cluster.Build(ctx, workDir)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	c, err := cluster.Start(startCtx, cluster.Config{
		Binaries:     bins,
		Dir:          workDir,
		Addr:         *addr,
		StatsAddr:    *statsAddr,
		IDPAddr:      *idpAddr,
		WritesAnyone: *writes == "anyone",
		Replicas:     *replicas,
		ServerArgs:   flags.Args(),
		Logger:       logger,
	})
	if err != nil {
		return err
	}
	printCluster(stdout, c, *restartAfter, *writes == "anyone")
	var restarts sync.WaitGroup
	if *restartAfter > 0 {
		for _, p := range c.Processes() {
			restarts.Go(func() { restart(ctx, p, *restartAfter, logger) })
		}
	}
	<-ctx.Done()
	restarts.Wait()
	logger.Info("stopping: HAProxy, then the replicas, then the NATS nodes")
	return c.Close()
}

// restart starts p again, after delay, every time it exits, as systemd or
// Kubernetes would, until ctx is done.
func restart(ctx context.Context, p *cluster.Process, delay time.Duration, logger *slog.Logger) {
	for {
		select {
		case <-p.Exited():
		case <-ctx.Done():
			return
		}
		logger.Info("restarting", "process", p.Name(), "after", delay)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return
		}
		startCtx, cancel := context.WithTimeout(ctx, startTimeout)
		err := p.Start(startCtx)
		cancel()
		if err != nil {
			logger.Error("restart failed", "process", p.Name(), "error", err)
		}
	}
}

func printCluster(w io.Writer, c *cluster.Cluster, restartAfter time.Duration, writesAnyone bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCESS\tPID\tADDRESS\tMONITOR\tLOG")
	// This process first: SIGINT or SIGTERM to it stops everything below.
	fmt.Fprintf(tw, "routeguide-cluster\t%d\t-\t-\t-\n", os.Getpid())
	for _, p := range c.Processes() {
		fmt.Fprintf(tw, "%s\t%d\t%s\thttp://%s/\t%s\n", p.Name(), p.PID(), p.Addr(), p.MonitorAddr(), p.LogFile())
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRouteGuide at http://%s (HTTP/1.1 and h2c); HAProxy's statistics at %s\n", c.Addr(), c.StatsURL())
	if writesAnyone {
		fmt.Fprintf(w, "Anyone may post notes; users may still sign in at %s.\n", c.Issuer())
	} else {
		fmt.Fprintf(w, "Posting notes needs a token from %s: sign in on the page as alice, bob or mod (a moderator),\n"+
			"password <user>-dev-password, or for the CLI: token=$(go -C devidp run ./cmd/routeguide-idp token --issuer %s --user alice)\n",
			c.Issuer(), c.Issuer())
	}
	comeback := ""
	if restartAfter > 0 {
		comeback = fmt.Sprintf(", and it comes back %v later", restartAfter)
	}
	fmt.Fprintf(w, "Kill a replica or a NATS node (kill -9 PID) and keep calling%s. Ctrl-C, or kill -INT %d, stops everything.\n", comeback, os.Getpid())
}
