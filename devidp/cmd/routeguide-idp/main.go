// Command routeguide-idp runs RouteGuide's development identity provider, a
// real OpenID provider (zitadel/oidc's OP) with a few built-in users, for
// local development, the browser tests and `task cluster`; and prints
// tokens from it for scripts. It is not for production.
//
// Usage:
//
//	routeguide-idp [serve] [flags]    serve the provider
//	routeguide-idp token [flags]      sign a user in and print an access token
//
// Run routeguide-idp serve -h or routeguide-idp token -h for the flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "routeguide-idp:", err)
		os.Exit(1)
	}
}

// run runs the subcommand named by args[0], serve when args[0] is a flag or
// there is none.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return runServe(ctx, args[1:], stdout, stderr)
		case "token":
			return runToken(ctx, args[1:], stdout, stderr)
		case "help":
			fmt.Fprintln(stderr, "usage: routeguide-idp [serve|token] [flags]")
			return nil
		}
		if args[0] != "" && args[0][0] != '-' {
			return fmt.Errorf("unknown subcommand %q: want serve or token", args[0])
		}
	}
	return runServe(ctx, args, stdout, stderr)
}
