// Command routeguide-server serves the RouteGuide service over gRPC,
// gRPC-Web and the Connect protocol, on HTTP/1.1 and HTTP/2, with or without
// TLS.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "routeguide-server:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully. It logs to
// stderr, starting with one line that gives the address it listens on.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	flags := flag.NewFlagSet("routeguide-server", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "localhost:50051", "`address` to listen on; port 0 picks a free port")
	featuresPath := flags.String("features", "", "JSON dataset `file` of features (default: the embedded dataset)")
	certFile := flags.String("tls-cert", "", "TLS certificate `file` (PEM); with --tls-key, serve HTTPS")
	keyFile := flags.String("tls-key", "", "TLS private key `file` (PEM)")
	shutdownTimeout := flags.Duration("shutdown-timeout", 10*time.Second,
		"how long to wait for calls in progress at shutdown before cutting them off")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	if (*certFile == "") != (*keyFile == "") {
		return errors.New("--tls-cert and --tls-key go together: give both or neither")
	}

	features, err := loadFeatures(*featuresPath)
	if err != nil {
		return err
	}
	handler, err := server.New(features)
	if err != nil {
		return err
	}
	// The server keeps the dataset in its own compact form; give the memory
	// of the file and its decoded messages back to the system now rather
	// than holding it until the heap next grows that large.
	debug.FreeOSMemory()
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	httpServer := &http.Server{
		Handler:           handler,
		Protocols:         new(http.Protocols),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	httpServer.Protocols.SetHTTP1(true)
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("load TLS key pair: %w", err)
		}
		httpServer.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		httpServer.Protocols.SetHTTP2(true)
	} else {
		httpServer.Protocols.SetUnencryptedHTTP2(true)
	}

	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	logger.Info("routeguide-server listening",
		"addr", listener.Addr().String(), "tls", *certFile != "", "features", handler.FeatureCount())
	served := make(chan error, 1)
	go func() {
		if httpServer.TLSConfig != nil {
			served <- httpServer.ServeTLS(listener, "", "")
		} else {
			served <- httpServer.Serve(listener)
		}
	}()

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", *shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *shutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		logger.Warn("calls still in progress at the shutdown timeout were cut off")
		httpServer.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func loadFeatures(path string) ([]*routeguide.Feature, error) {
	if path == "" {
		return server.DefaultFeatures(), nil
	}
	return server.LoadFeatures(path)
}
