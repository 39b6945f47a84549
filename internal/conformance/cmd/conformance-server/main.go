// Command conformance-server serves the ConformanceService of the Connect
// conformance suite through routeguide-server's stack, for the suite's
// runner to test:
//
//	connectconformance --mode server --conf FILE -- conformance-server
//
// It reads a ServerCompatRequest from stdin, starts a server on a loopback
// port the kernel picks, writes a ServerCompatResponse to stdout, and serves
// until it gets SIGTERM or an interrupt.
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
	"syscall"
	"time"

	v1 "github.com/routeguide/routeguide/gen/connectrpc/conformance/v1"
	"github.com/routeguide/routeguide/server/transport"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "conformance-server:", err)
		os.Exit(1)
	}
}

// shutdownTimeout bounds how long calls in progress get once ctx is done.
const shutdownTimeout = 5 * time.Second

// run serves until ctx is done, then shuts down within shutdownTimeout.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("conformance-server", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "127.0.0.1:0", "address to listen on; the runner connects to 127.0.0.1")
	logLevel := flags.String("log-level", "warn", "least severe log level written: debug, info, warn or error")
	logFile := flags.String("log-file", "", "append the log, one access record per call among others, to this file rather than stderr")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logOut := stderr
	if *logFile != "" {
		// Appended to, since the runner starts one server per
		// configuration and they may share the file.
		f, err := os.OpenFile(*logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("-log-file: %w", err)
		}
		defer f.Close()
		logOut = f
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))

	req := &v1.ServerCompatRequest{}
	if err := readMessage(stdin, req); err != nil {
		return fmt.Errorf("read the ServerCompatRequest: %w", err)
	}
	if len(req.GetClientTlsCert()) > 0 {
		return errors.New("TLS client certificates are not supported: leave supports_tls_client_certs false")
	}
	srv, err := newConformanceServer(req, logger)
	if err != nil {
		return err
	}
	httpServer := srv.http
	res := &v1.ServerCompatResponse{Host: "127.0.0.1"}
	if req.GetUseTls() {
		creds := req.GetServerCreds()
		cert, err := tls.X509KeyPair(creds.GetCert(), creds.GetKey())
		if err != nil {
			return fmt.Errorf("load the runner's TLS key pair: %w", err)
		}
		httpServer.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		res.PemCert = creds.GetCert()
	}

	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	listener = transport.Listener(listener, srv.limits, httpServer)
	res.Port = uint32(listener.Addr().(*net.TCPAddr).Port)
	served := make(chan error, 1)
	go func() {
		if httpServer.TLSConfig != nil {
			served <- httpServer.ServeTLS(listener, "", "")
		} else {
			served <- httpServer.Serve(listener)
		}
	}()
	logger.Info("conformance-server listening", "addr", listener.Addr().String(), "tls", req.GetUseTls(),
		"http_version", req.GetHttpVersion().String(), "protocol", req.GetProtocol().String())
	if err := writeMessage(stdout, res); err != nil {
		httpServer.Close()
		return fmt.Errorf("write the ServerCompatResponse: %w", err)
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// As routeguide-server does: streams end now, with unavailable, and
	// Shutdown waits only for unary calls.
	srv.service.Drain()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		httpServer.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
