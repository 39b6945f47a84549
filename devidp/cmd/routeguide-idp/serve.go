package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/routeguide/routeguide/devidp"
)

// shutdownGrace is how long in-flight requests get to finish on a signal.
const shutdownGrace = 5 * time.Second

// defaultListen is where the provider listens unless told otherwise.
const defaultListen = "127.0.0.1:5556"

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("routeguide-idp serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", defaultListen, "loopback `address` to listen on; port 0 picks a free one")
	issuer := fs.String("issuer", "", "issuer `URL`, the tokens' iss (default http:// and the listening address)")
	audience := fs.String("audience", devidp.DefaultAudience, "API `audience` added to every token's aud")
	var clients clientsFlag
	fs.Var(&clients, "client", "register a browser page as a public client: `ID=REDIRECT_URI[,REDIRECT_URI...]` (repeatable)")
	var origins listFlag
	fs.Var(&origins, "cors-origin", "`origin` that may call the token endpoint, besides the clients' redirect URIs' origins (repeatable, comma-separated)")
	usersFile := fs.String("users", "", "JSON `file` of users [{username, password, name, subject, roles}] (default alice, bob and mod)")
	lifetime := fs.Duration("token-lifetime", time.Hour, "how long access and ID tokens are valid")
	rotate := fs.Duration("rotate-keys-every", 0, "make a new signing key when the current one is this old (default 0: never)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", *listen, err)
	}
	// The users' passwords are printed in the README.
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--listen %q: the development provider listens on loopback only", *listen)
	}
	var users []devidp.User
	if *usersFile != "" {
		if users, err = devidp.LoadUsers(*usersFile); err != nil {
			return err
		}
	}

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	defer l.Close()
	if *issuer == "" {
		*issuer = "http://" + l.Addr().String()
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	p, err := devidp.New(devidp.Config{
		Issuer:          *issuer,
		Audience:        *audience,
		Clients:         clients,
		CORSOrigins:     origins,
		Users:           users,
		TokenLifetime:   *lifetime,
		RotateKeysEvery: *rotate,
		Logger:          logger,
	})
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	// The line scripts wait for; logs go to stderr.
	fmt.Fprintf(stdout, "issuer %s\n", p.Issuer())
	logger.Info("serving the development identity provider; not for production",
		"addr", l.Addr().String(), "issuer", p.Issuer(), "audience", *audience)

	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
