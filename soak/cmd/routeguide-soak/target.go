package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/routeguide/routeguide/client"
)

// targetFlags choose the server a mode puts under load: one it builds and
// starts itself from this checkout, or one already running at --addr.
type targetFlags struct {
	addr        string
	protocol    string
	race        bool
	serverBin   string
	repo        string
	serverFlags stringList
	serverLog   bool
	sample      time.Duration
}

func addTargetFlags(flags *flag.FlagSet) *targetFlags {
	t := &targetFlags{}
	flags.StringVar(&t.addr, "addr", "", "`host:port` of a running server (default: build and start one on 127.0.0.1:0)")
	flags.StringVar(&t.protocol, "protocol", "grpc", "RPC protocol: connect, grpc or grpcweb")
	flags.BoolVar(&t.race, "race", false, "build the server it starts with the race detector")
	flags.StringVar(&t.serverBin, "server-bin", "", "routeguide-server `binary` to start (default: go build it)")
	flags.StringVar(&t.repo, "repo", "", "`directory` of the routeguide module to build the server from (default: found above the working directory)")
	flags.Var(&t.serverFlags, "server-flag", "`flag` for the server it starts, such as --max-route-points=1000; repeatable")
	flags.BoolVar(&t.serverLog, "server-log", false, "copy the server's log to stderr")
	flags.DurationVar(&t.sample, "sample", 5*time.Second, "how often to sample the server's memory, threads and goroutines")
	return t
}

// target is the server under load.
type target struct {
	baseURL  string
	protocol client.Protocol
	proc     *serverProcess // nil for a server given by --addr
	sampler  *sampler       // nil for a server given by --addr
	// streamWindow, if set, is how much a stream may buffer unread at the
	// client; Go's default is 4 MiB.
	streamWindow int
}

// start builds and starts the server, or connects to the one at --addr.
// modeFlags go to a server it starts before the --server-flag ones, so that
// those win. The caller must call stop.
func (t *targetFlags) start(ctx context.Context, stdout, stderr io.Writer, modeFlags ...string) (*target, error) {
	protocol, err := client.ParseProtocol(t.protocol)
	if err != nil {
		return nil, err
	}
	if t.addr != "" {
		fmt.Fprintf(stdout, "server: %s (given; memory not sampled)\n", t.addr)
		return &target{baseURL: "http://" + t.addr, protocol: protocol}, nil
	}
	bin := t.serverBin
	if bin == "" {
		dir, err := os.MkdirTemp("", "routeguide-soak-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir) // the running process keeps its binary
		bin, err = buildServer(ctx, t.repo, dir, t.race)
		if err != nil {
			return nil, err
		}
	}
	var log io.Writer = io.Discard
	if t.serverLog {
		log = stderr
	}
	proc, err := startServer(ctx, bin, append(modeFlags, t.serverFlags...), log)
	if err != nil {
		return nil, err
	}
	race := ""
	if t.race {
		race = ", built with -race"
	}
	fmt.Fprintf(stdout, "server: pid %d on %s%s, flags %q\n", proc.cmd.Process.Pid, proc.addr, race, append(modeFlags, t.serverFlags...))
	return &target{
		baseURL:  "http://" + proc.addr,
		protocol: protocol,
		proc:     proc,
		sampler:  startSampler(proc.cmd.Process.Pid, proc.adminAddr, t.sample, stdout),
	}, nil
}

// client returns a new client with its own connections.
func (t *target) client() (*client.Client, error) {
	options := []client.Option{client.WithProtocol(t.protocol)}
	if t.streamWindow > 0 {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.Protocols = new(http.Protocols)
		transport.Protocols.SetUnencryptedHTTP2(true)
		transport.HTTP2 = &http.HTTP2Config{MaxReceiveBufferPerStream: t.streamWindow}
		options = append(options, client.WithHTTPClient(&http.Client{Transport: transport}))
	}
	return client.New(t.baseURL, options...)
}

// stop stops sampling and the server it started, and reports whether the
// server logged a data race or a panic, or failed to exit cleanly.
func (t *target) stop(stdout io.Writer) error {
	if t.proc == nil {
		return nil
	}
	t.sampler.stop()
	exit := t.proc.terminate(15 * time.Second)
	return t.proc.verdict(stdout, exit)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, " ") }

func (s *stringList) Set(v string) error {
	if v == "" {
		return errors.New("empty flag")
	}
	*s = append(*s, v)
	return nil
}

// parseFlags parses args, and rejects stray arguments.
func parseFlags(flags *flag.FlagSet, args []string) error {
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	return nil
}
