// Command profile-server serves RouteGuide exactly as routeguide-server does
// (h2c, the same server.New) while recording a CPU profile, so that the
// profiles behind BENCHMARKS.md come from the server under the harness's
// load rather than from a benchmark that times the client too:
//
//	taskset -c 1 go run ./cmd/profile-server -addr 127.0.0.1:50070 -cpuprofile get.pprof -for 10s &
//	taskset -c 0 h2load ... http://127.0.0.1:50070/routeguide.RouteGuide/GetFeature
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"time"

	"github.com/routeguide/routeguide/server"
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
	addr := flags.String("addr", "127.0.0.1:0", "`address` to listen on")
	featuresPath := flags.String("features", "", "JSON dataset `file` (default: the embedded dataset)")
	profile := flags.String("cpuprofile", "cpu.pprof", "CPU profile `file` to write")
	d := flags.Duration("for", 10*time.Second, "how long to serve and profile")
	if err := flags.Parse(args); err != nil {
		return err
	}
	features := server.DefaultFeatures()
	if *featuresPath != "" {
		var err error
		if features, err = server.LoadFeatures(*featuresPath); err != nil {
			return err
		}
	}
	handler, err := server.New(features)
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	httpServer := &http.Server{Handler: handler, Protocols: new(http.Protocols)}
	httpServer.Protocols.SetUnencryptedHTTP2(true)
	f, err := os.Create(*profile)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "profile-server listening addr=%s for %s\n", listener.Addr(), *d)
	time.AfterFunc(*d, func() { httpServer.Close() })
	err = httpServer.Serve(listener)
	pprof.StopCPUProfile()
	if err != http.ErrServerClosed {
		return err
	}
	return nil
}
