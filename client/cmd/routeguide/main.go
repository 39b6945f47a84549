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
	"syscall"

	"github.com/routeguide/routeguide/client"
)

const usage = `usage: routeguide [--addr HOST[:PORT]|URL] [--protocol connect|grpc|grpcweb] [--json] [--ca-cert FILE] [--token TOKEN] COMMAND [ARGS]

Coordinates are E7 integers, degrees times 10^7, as on the wire: latitudes
within ±900000000 (±90°), longitudes within ±1800000000 (±180°).

Commands:
  get-feature LAT LON                  the feature at a point
  list-features LAT1 LON1 LAT2 LON2    the features inside a rectangle
  record-route [LAT LON]...            a route's summary; without arguments the points
                                       are read from stdin as JSON lines, {"latitude":1,"longitude":2}
  route-chat                           notes read from stdin as JSON lines,
                                       {"location":{"latitude":1,"longitude":2},"message":"hi"};
                                       replies printed as they arrive
  delete SEQUENCE                      delete a note, as a moderator (--token)
  tour                                 play the gRPC tutorial client's script
  help                                 print this message

Replies are printed as JSON, one message a line. Flags may also follow the
command. For example, the Eiffel Tower from a server on this machine:

  routeguide get-feature 488583700 22944810

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
// replies to stdout. An RPC error keeps its code and message, with a hint
// added for the mistakes a first call commonly makes.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("routeguide", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), usage)
		flags.PrintDefaults()
	}
	addr := flags.String("addr", "localhost:50051",
		"server `address`: HOST[:PORT], port "+defaultPort+" if none, or a URL; http:// speaks HTTP/2 without TLS")
	protocolName := flags.String("protocol", "connect", "RPC `protocol`: connect, grpc or grpcweb")
	useJSON := flags.Bool("json", false, "encode messages as JSON on the wire instead of binary protobuf")
	caFile := flags.String("ca-cert", "", "trust the server certificates this CA `file` (PEM) signed, for an https:// address")
	token := flags.String("token", "", "OpenID Connect bearer `token` sent with every call, for servers that require "+
		"sign-in to write (default $ROUTEGUIDE_TOKEN)")
	positional, err := parseArgs(flags, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	protocol, err := client.ParseProtocol(*protocolName)
	if err != nil {
		return err
	}
	target, err := baseURL(*addr)
	if err != nil {
		return err
	}
	options := []client.Option{client.WithProtocol(protocol)}
	if *useJSON {
		options = append(options, client.WithJSON())
	}
	if *token == "" {
		// From the environment, so that the token stays out of the
		// shell's history and of ps.
		*token = os.Getenv("ROUTEGUIDE_TOKEN")
	}
	options = append(options, client.WithToken(*token))
	if *caFile != "" {
		httpClient, err := tlsClient(target, *caFile)
		if err != nil {
			return err
		}
		options = append(options, client.WithHTTPClient(httpClient))
	}
	rg, err := client.New(target, options...)
	if err != nil {
		return err
	}
	if len(positional) == 0 {
		flags.Usage()
		return errUsage
	}
	cmd := command{client: rg, stdin: stdin, out: stdout, errOut: stderr}
	name, cmdArgs := positional[0], positional[1:]
	switch name {
	case "get-feature":
		err = cmd.getFeature(ctx, cmdArgs)
	case "list-features":
		err = cmd.listFeatures(ctx, cmdArgs)
	case "record-route":
		err = cmd.recordRoute(ctx, cmdArgs)
	case "route-chat":
		err = cmd.routeChat(ctx, cmdArgs)
	case "delete":
		err = cmd.deleteNote(ctx, cmdArgs)
	case "tour":
		err = cmd.tour(ctx, cmdArgs)
	case "help":
		flags.SetOutput(stdout)
		flags.Usage()
		return nil
	default:
		fmt.Fprintf(stderr, "routeguide: unknown command %q\n\n", name)
		flags.Usage()
		return errUsage
	}
	return withHint(err, target)
}
