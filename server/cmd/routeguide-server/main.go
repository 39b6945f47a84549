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

	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
	"github.com/routeguide/routeguide/server/observe"
	"github.com/routeguide/routeguide/server/transport"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == healthProbeCommand {
		err = healthProbe(ctx, os.Args[2:], os.Getenv, os.Stdout, os.Stderr)
	} else {
		err = run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "routeguide-server:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully. Every flag in
// args can be set instead by the environment variable that getenv returns for
// it. It logs to stderr, starting with a line that gives the admin
// listener's address, if there is one, then one that gives the address it
// serves RPCs on.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	// Records, one per RPC at info, are written off the request path, in
	// batches; Close writes the last of them before run returns.
	logOut := observe.NewLogWriter(stderr)
	defer logOut.Close()
	logger := cfg.newLogger(logOut)

	features, err := dataset.Open(cfg.featuresPath)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.setting("features"), err)
	}
	tel, err := newTelemetry(ctx, cfg.adminAddr != "", getenv, logger)
	if err != nil {
		return err
	}
	defer func() {
		// Spans still buffered get a few seconds to reach the collector,
		// however short the shutdown timeout.
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tel.shutdown(flushCtx); err != nil {
			logger.Warn("telemetry shutdown", "error", err)
		}
	}()
	options := append(tel.serverOptions, server.WithLogger(logger), server.WithLimits(cfg.limits),
		server.WithCORSOrigins(cfg.corsOrigins...))
	store, err := cfg.notes.open(ctx, cfg.limits, cfg.setting, logger)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.setting("notes"), err)
	}
	if store != nil {
		// Closed after the HTTP server has shut down, so that calls in
		// progress can still store their notes.
		defer store.Close()
		options = append(options, server.WithNotesStore(store))
	}
	if !cfg.fastPaths {
		options = append(options, server.WithoutFastPaths())
	}
	writeOptions, closeWrites, err := cfg.writes.serverOptions(ctx, store, cfg.setting, logger)
	if err != nil {
		return err
	}
	defer closeWrites()
	handler, err := server.New(features, append(options, writeOptions...)...)
	if err != nil {
		return err
	}
	// The server keeps the dataset in its own compact form; give the memory
	// of the file and its decoded messages back to the system now rather
	// than holding it until the heap next grows that large.
	debug.FreeOSMemory()
	errorLog := slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	httpServer := transport.NewHTTPServer(handler, cfg.limits, cfg.certFile != "")
	httpServer.ErrorLog = errorLog
	if cfg.certFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.certFile, cfg.keyFile)
		if err != nil {
			return fmt.Errorf("load TLS key pair: %w", err)
		}
		httpServer.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	listener, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.setting("addr"), err)
	}
	served := make(chan error, 2)
	running := 0
	serve := func(s *http.Server, l net.Listener) {
		running++
		go func() {
			if s.TLSConfig != nil {
				served <- s.ServeTLS(l, "", "")
			} else {
				served <- s.Serve(l)
			}
		}()
	}
	var adminServer *http.Server
	if cfg.adminAddr != "" {
		adminListener, err := net.Listen("tcp", cfg.adminAddr)
		if err != nil {
			listener.Close()
			return fmt.Errorf("%s: %w", cfg.setting("admin-addr"), err)
		}
		// No write timeout: a CPU profile takes as long as it was asked to.
		adminServer = &http.Server{
			Handler:           newAdminHandler(tel.metricsHandler, append([]string{"routeguide-server"}, args...)),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          errorLog,
		}
		logger.Info("admin listening", "addr", adminListener.Addr().String(), "paths", "/metrics /debug/pprof/")
		serve(adminServer, adminListener)
	}
	// The PROXY header is read before anything else the connection sends.
	listener = cfg.writes.trusted.Listener(listener)
	if cfg.fastPaths {
		listener = transport.Listener(listener, cfg.limits, httpServer)
	} else {
		listener = transport.PlainListener(listener, cfg.limits)
	}
	logger.Info("routeguide-server listening",
		"addr", listener.Addr().String(), "tls", cfg.certFile != "", "features", handler.FeatureCount(),
		"notes", redactURL(cfg.notes.jetstream.URLs))
	serve(httpServer, listener)

	var serveErr error
	select {
	case serveErr = <-served:
		running--
	case <-ctx.Done():
		logger.Info("shutting down", "timeout", cfg.shutdownTimeout)
	}
	// Streams could run for hours: end them now, with unavailable, so that
	// Shutdown waits only for unary calls.
	handler.Drain()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer cancel()
	if adminServer != nil {
		adminServer.Close() // nothing there is worth waiting for
	}
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		logger.Warn("calls still in progress at the shutdown timeout were cut off")
		httpServer.Close()
	}
	for ; running > 0; running-- {
		if err := <-served; !errors.Is(err, http.ErrServerClosed) && serveErr == nil {
			serveErr = err
		}
	}
	return serveErr
}
