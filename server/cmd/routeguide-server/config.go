package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/routeguide/routeguide/server/limits"
)

// envPrefix starts the name of the environment variable that sets each flag:
// ROUTEGUIDE_ and the flag's name upper-cased with - as _.
const envPrefix = "ROUTEGUIDE_"

// defaultAddr is the address the server listens on by default.
const defaultAddr = "localhost:50051"

// config is the server's configuration, from flags and the environment.
type config struct {
	addr             string
	featuresPath     string
	certFile         string
	keyFile          string
	shutdownTimeout  time.Duration
	logFormat        string
	logLevel         slog.Level
	adminAddr        string
	adminAllowRemote bool
	fastPaths        bool
	limits           limits.Limits
	notes            *notesFlags
	corsOrigins      []string
	writes           *writesFlags

	// fromEnv holds the names of the flags set by the environment, so that
	// an error can name the setting the operator wrote.
	fromEnv map[string]bool
	// onCommandLine holds the names of the flags set on the command line.
	onCommandLine map[string]bool
}

// parseConfig reads the configuration from args and, for every flag they do
// not set, from the environment variable getenv returns for it; an empty
// variable counts as unset. It prints usage to stderr and returns
// [flag.ErrHelp] for -h or --help. Every invalid setting is an error that
// names it.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{fromEnv: make(map[string]bool)}
	flags := flag.NewFlagSet("routeguide-server", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&c.addr, "addr", defaultAddr, "`address` to listen on; port 0 picks a free port")
	flags.StringVar(&c.featuresPath, "features", "", "JSON dataset `file` of features (default: the embedded dataset)")
	flags.StringVar(&c.certFile, "tls-cert", "", "TLS certificate `file` (PEM); with --tls-key, serve HTTPS")
	flags.StringVar(&c.keyFile, "tls-key", "", "TLS private key `file` (PEM)")
	flags.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second,
		"how long to wait for calls in progress at shutdown before cutting them off")
	flags.Func("log-format", "log `format`: text or json (default text)", func(s string) error {
		if s != "text" && s != "json" {
			return errors.New("want text or json")
		}
		c.logFormat = s
		return nil
	})
	c.logFormat = "text"
	flags.TextVar(&c.logLevel, "log-level", slog.LevelInfo,
		"least `level` logged: debug, info, warn or error; each RPC logs at info or above")
	flags.StringVar(&c.adminAddr, "admin-addr", "",
		"`address` of the admin listener for /metrics and /debug/pprof/, on loopback (default: none)")
	flags.BoolVar(&c.adminAllowRemote, "admin-allow-remote", false,
		"let --admin-addr be other than loopback, such as a pod's address that Prometheus scrapes")
	flags.BoolVar(&c.fastPaths, "fast-paths", true,
		"the performance-only layers: batched connection writes and reads, flush coalescing, stack presizing; false turns them off, for diagnosis")
	flags.Func("cors-origin", "let browser pages from `origin`, such as http://localhost:3000, call the API; "+
		"repeatable or comma-separated, * for any (default: none, only the server's own page)", func(value string) error {
		c.corsOrigins = append(c.corsOrigins, splitList(value)...)
		return nil
	})
	addLimitFlags(flags, &c.limits)
	c.notes = addNotesFlags(flags)
	c.writes = addWritesFlags(flags)
	flags.VisitAll(func(f *flag.Flag) { f.Usage += " [$" + envName(f.Name) + "]" })
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "Usage: routeguide-server [flags]\n\n"+
			"Serves RouteGuide over gRPC, gRPC-Web and Connect. Each flag can be set instead by the\n"+
			"environment variable in brackets; a flag on the command line wins.\n\n")
		flags.PrintDefaults()
	}

	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if flags.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	c.onCommandLine = make(map[string]bool)
	flags.Visit(func(f *flag.Flag) { c.onCommandLine[f.Name] = true })
	var errs []error
	flags.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		value := getenv(name)
		if value == "" || c.onCommandLine[f.Name] {
			return
		}
		if err := f.Value.Set(value); err != nil {
			kind, _ := flag.UnquoteUsage(f) // none for a bool flag
			errs = append(errs, fmt.Errorf("%s=%q: invalid %s for --%s: %w", name, value, cmp.Or(kind, "value"), f.Name, err))
			return
		}
		c.fromEnv[f.Name] = true
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, c.validate()
}

// validate checks what the flags cannot check one at a time.
func (c *config) validate() error {
	if (c.certFile == "") != (c.keyFile == "") {
		return fmt.Errorf("%s and %s go together: give both or neither", c.setting("tls-cert"), c.setting("tls-key"))
	}
	if err := checkLimits(&c.limits, c.setting, c.explicit); err != nil {
		return err
	}
	if err := c.notes.check(c.setting); err != nil {
		return err
	}
	if err := c.writes.check(c.setting); err != nil {
		return err
	}
	if c.shutdownTimeout < 0 {
		return fmt.Errorf("%s %v: must not be negative", c.setting("shutdown-timeout"), c.shutdownTimeout)
	}
	if c.adminAddr != "" {
		host, _, err := net.SplitHostPort(c.adminAddr)
		if err != nil {
			return fmt.Errorf("%s %q: want HOST:PORT: %w", c.setting("admin-addr"), c.adminAddr, err)
		}
		if !c.adminAllowRemote && !isLoopback(host) {
			return fmt.Errorf("%s %q is not a loopback address: the admin endpoints show profiles and "+
				"metrics to anyone who reaches them, so listen on 127.0.0.1, [::1] or localhost, "+
				"or set %s to serve them elsewhere", c.setting("admin-addr"), c.adminAddr, c.setting("admin-allow-remote"))
		}
	}
	return nil
}

// explicit reports whether the operator set a flag, on the command line or
// in the environment.
func (c *config) explicit(flagName string) bool {
	return c.onCommandLine[flagName] || c.fromEnv[flagName]
}

// setting names a flag the way the operator set it: as a flag, or as the
// environment variable it came from.
func (c *config) setting(flagName string) string {
	if c.fromEnv[flagName] {
		return envName(flagName)
	}
	return "--" + flagName
}

// splitList returns the non-empty, trimmed items of a comma-separated
// value, such as one of a repeatable flag like --auth-audience.
func splitList(value string) []string {
	var items []string
	for item := range strings.SplitSeq(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// envName returns the environment variable that sets the flag named name.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// isLoopback reports whether host, from a HOST:PORT address, names only the
// loopback interface. An empty host means every interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newLogger returns the logger the configuration asks for, writing to w.
func (c *config) newLogger(w io.Writer) *slog.Logger {
	options := &slog.HandlerOptions{Level: c.logLevel}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, options))
	}
	return slog.New(slog.NewTextHandler(w, options))
}
