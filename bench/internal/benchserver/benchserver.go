// Package benchserver holds the boilerplate the bench's servers share: a
// main that stops on an interrupt, the -addr and -features flags, and the
// listener and h2c server. It must import nothing from connect-go nor the
// routeguide server package: the reference and ceiling servers use it, and
// the root module's internal/architecture tests check that they carry
// neither.
package benchserver

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/routeguide/routeguide/server/transport/batchconn"
)

// Main calls run with the command's arguments and standard error, under a
// context that ends on an interrupt or SIGTERM. If run fails, it prints name
// and the error to standard error and exits with status 1.
func Main(name string, run func(ctx context.Context, args []string, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Flags are the flags every bench server takes.
type Flags struct {
	Addr     string // -addr: the address to listen on; default 127.0.0.1:0
	Features string // -features: the JSON dataset file; default ""
}

// Define defines -addr and -features on flags; featuresUsage is the help
// text of -features, which says what the server does with the dataset.
func (f *Flags) Define(flags *flag.FlagSet, featuresUsage string) {
	flags.StringVar(&f.Addr, "addr", "127.0.0.1:0", "`address` to listen on")
	flags.StringVar(&f.Features, "features", "", featuresUsage)
}

// Listen listens on addr over TCP. With batch, each connection gathers its
// writes into fewer system calls, as routeguide-server's do. The caller
// should close the listener, or a server serving it, when finished.
func Listen(addr string, batch bool) (net.Listener, error) {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if batch {
		listener = batchconn.NewListener(listener, batchconn.Options{})
	}
	return listener, nil
}

// H2C returns a server of handler over unencrypted HTTP/2 (h2c).
func H2C(handler http.Handler) *http.Server {
	s := &http.Server{Handler: handler, Protocols: new(http.Protocols)}
	s.Protocols.SetUnencryptedHTTP2(true)
	return s
}
