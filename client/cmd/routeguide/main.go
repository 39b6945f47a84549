// Command routeguide calls a RouteGuide server: every method of the service,
// over the Connect protocol, gRPC or gRPC-Web.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/routeguide/routeguide/client"
)

const usage = `usage: routeguide [--addr URL] [--protocol connect|grpc|grpcweb] [--json] COMMAND [ARGS]

Coordinates are E7 integers, degrees times 10^7, as on the wire.

Commands:
  get-feature LAT LON                  the feature at a point
  list-features LAT1 LON1 LAT2 LON2    the features inside a rectangle
  record-route [LAT LON]...            a route's summary; without arguments the points
                                       are read from stdin as JSON lines, {"latitude":1,"longitude":2}
  route-chat                           notes read from stdin as JSON lines,
                                       {"location":{"latitude":1,"longitude":2},"message":"hi"};
                                       replies printed as they arrive
  tour                                 play the gRPC tutorial client's script

Replies are printed as JSON, one message a line.

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "routeguide:", err)
		}
		os.Exit(1)
	}
}

// errUsage reports a mistake already explained on stderr.
var errUsage = errors.New("usage")

// run runs the command line args, reading input from stdin and writing
// replies to stdout. An RPC error is returned as is, so its code and message
// are what the user sees.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("routeguide", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), usage)
		flags.PrintDefaults()
	}
	addr := flags.String("addr", "http://localhost:50051", "server `URL`; http:// speaks HTTP/2 without TLS")
	protocolName := flags.String("protocol", "connect", "RPC `protocol`: connect, grpc or grpcweb")
	useJSON := flags.Bool("json", false, "encode messages as JSON on the wire instead of binary protobuf")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	protocol, err := client.ParseProtocol(*protocolName)
	if err != nil {
		return err
	}
	options := []client.Option{client.WithProtocol(protocol)}
	if *useJSON {
		options = append(options, client.WithJSON())
	}
	rg, err := client.New(baseURL(*addr), options...)
	if err != nil {
		return err
	}
	if flags.NArg() == 0 {
		flags.Usage()
		return errUsage
	}
	cmd := command{client: rg, stdin: stdin, out: stdout}
	name, cmdArgs := flags.Arg(0), flags.Args()[1:]
	switch name {
	case "get-feature":
		return cmd.getFeature(ctx, cmdArgs)
	case "list-features":
		return cmd.listFeatures(ctx, cmdArgs)
	case "record-route":
		return cmd.recordRoute(ctx, cmdArgs)
	case "route-chat":
		return cmd.routeChat(ctx, cmdArgs)
	case "tour":
		return cmd.tour(ctx, cmdArgs)
	}
	fmt.Fprintf(stderr, "routeguide: unknown command %q\n\n", name)
	flags.Usage()
	return errUsage
}

// baseURL lets users give a bare host:port, as grpcurl and the gRPC
// examples take it.
func baseURL(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "http://" + addr
}
