package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

// notesFlags say where RouteChat's and NotesService's notes live.
type notesFlags struct {
	// jetstream.URLs is "memory" or NATS URLs.
	jetstream notes.JetStreamConfig
	// passwordFile holds the password of the user named in the URLs, and
	// password what check read from it, so that the password is on no
	// command line.
	passwordFile string
	password     string
	openTimeout  time.Duration
}

func addNotesFlags(flags *flag.FlagSet) *notesFlags {
	n := &notesFlags{}
	flags.StringVar(&n.jetstream.URLs, "notes", "memory",
		"where notes live: memory (this process only), or the `URL`s of NATS JetStream servers, "+
			"comma-separated, such as nats://user:password@host:4222 or tls://host:4222, shared by every replica")
	flags.StringVar(&n.jetstream.CredsFile, "nats-creds", "",
		"NATS credentials `file` (user JWT and NKey seed) to connect to --notes with")
	flags.StringVar(&n.passwordFile, "notes-password-file", "",
		"`file` holding the password of the user named in --notes (nats://user@host:4222), "+
			"so that the password is on no command line")
	flags.StringVar(&n.jetstream.CAFile, "nats-ca", "",
		"PEM `file` of the certificate authorities a tls:// NATS server's certificate must chain to (default: the system's)")
	flags.IntVar(&n.jetstream.Replicas, "notes-replicas", 1,
		"NATS servers that hold each note; 3 in a three-node cluster survives the loss of one")
	flags.StringVar(&n.jetstream.Stream, "notes-stream", "ROUTEGUIDE_NOTES",
		"`name` of the JetStream stream of notes; it is created, or checked against the limits, at start")
	flags.DurationVar(&n.openTimeout, "notes-open-timeout", 30*time.Second,
		"how long to wait at start for NATS to be reachable and the stream to be ready")
	return n
}

// isMemory reports whether the notes stay in this process.
func (n *notesFlags) isMemory() bool {
	return n.jetstream.URLs == "" || n.jetstream.URLs == "memory"
}

// check validates the notes flags, naming each as setting names it.
func (n *notesFlags) check(setting func(flagName string) string) error {
	if n.isMemory() {
		for _, f := range [][2]string{{"nats-creds", n.jetstream.CredsFile}, {"nats-ca", n.jetstream.CAFile},
			{"notes-password-file", n.passwordFile}} {
			if f[1] != "" {
				return fmt.Errorf("%s needs %s to be NATS URLs", setting(f[0]), setting("notes"))
			}
		}
		return nil
	}
	for u := range strings.SplitSeq(n.jetstream.URLs, ",") {
		u = strings.TrimSpace(u)
		parsed, err := url.Parse(u)
		if err != nil || parsed.Host == "" {
			return fmt.Errorf("%s: %q is neither memory nor a URL such as nats://host:4222", setting("notes"), redactURL(u))
		}
		if !slices.Contains([]string{"nats", "tls", "ws", "wss"}, parsed.Scheme) {
			return fmt.Errorf("%s: %q has scheme %q: want nats://, tls://, ws:// or wss://",
				setting("notes"), redactURL(u), parsed.Scheme)
		}
		if n.passwordFile != "" {
			if parsed.User == nil {
				return fmt.Errorf("%s: %q names no user for the password of %s: write nats://user@host:4222",
					setting("notes"), redactURL(u), setting("notes-password-file"))
			}
			if _, ok := parsed.User.Password(); ok {
				return fmt.Errorf("%s: %q has a password already: with %s, leave it out of the URL",
					setting("notes"), redactURL(u), setting("notes-password-file"))
			}
		}
	}
	if n.passwordFile != "" {
		password, err := readSecretFile(n.passwordFile)
		if err != nil {
			return fmt.Errorf("%s: %w", setting("notes-password-file"), err)
		}
		n.password = password
	}
	if r := n.jetstream.Replicas; r < 1 || r > 5 {
		return fmt.Errorf("%s %d: JetStream keeps 1 to 5 replicas", setting("notes-replicas"), r)
	}
	if n.openTimeout <= 0 {
		return fmt.Errorf("%s %v: must be positive", setting("notes-open-timeout"), n.openTimeout)
	}
	if n.jetstream.CAFile != "" {
		if err := checkCAFile(n.jetstream.CAFile); err != nil {
			return fmt.Errorf("%s: %w", setting("nats-ca"), err)
		}
	}
	if n.jetstream.CredsFile != "" {
		if err := checkCredsFile(n.jetstream.CredsFile); err != nil {
			return fmt.Errorf("%s: %w", setting("nats-creds"), err)
		}
	}
	return nil
}

// checkCAFile reports whether file holds a PEM certificate, as nats.go
// will want it, so that a wrong file is named as such before any
// connection is tried.
func checkCAFile(file string) error {
	pem, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", file)
	}
	return nil
}

// checkCredsFile reports whether file holds a user's NKey seed, as a NATS
// credentials file does. nats.go reads it only when it connects, and then
// fails each attempt until the open timeout, saying only that it could not
// sign: better to say at once that the file is not what it should be.
func checkCredsFile(file string) error {
	contents, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	seed, err := nkeys.ParseDecoratedUserNKey(contents)
	if err != nil {
		return fmt.Errorf("%s is not a NATS credentials file (a user JWT and its NKey seed, as nsc writes it): %w", file, err)
	}
	seed.Wipe()
	return nil
}

// open returns the store the flags ask for, under l, or nil for the
// in-memory store the server makes itself; its errors name the settings,
// as setting names them, that are likely to be at fault. The caller must
// close a store it gets.
func (n *notesFlags) open(ctx context.Context, l limits.Limits, setting func(flagName string) string, logger *slog.Logger) (*notes.JetStream, error) {
	if n.isMemory() {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, n.openTimeout)
	defer cancel()
	cfg := n.jetstream
	cfg.URLs, cfg.Limits, cfg.Logger = n.urls(), l, logger
	store, err := notes.OpenJetStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w%s", err, n.hint(err, setting))
	}
	return store, nil
}

// hint says what to look at when the store would not open: the setting
// behind a refusal that nats.go reports, or else whether NATS is there.
func (n *notesFlags) hint(err error, setting func(flagName string) string) string {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	switch {
	case errors.As(err, &unknownCA) && n.jetstream.CAFile == "":
		return fmt.Sprintf("; NATS's TLS certificate is not signed by an authority the system trusts: "+
			"set %s to a PEM file of the one that signed it", setting("nats-ca"))
	case errors.As(err, &unknownCA):
		return fmt.Sprintf("; NATS's TLS certificate is not signed by an authority in %s %s", setting("nats-ca"), n.jetstream.CAFile)
	case errors.As(err, &hostname):
		return fmt.Sprintf("; name NATS in %s as its TLS certificate does", setting("notes"))
	case isAuthError(err) && n.jetstream.CredsFile != "":
		return fmt.Sprintf("; NATS refused the user of %s %s", setting("nats-creds"), n.jetstream.CredsFile)
	case isAuthError(err) && strings.Contains(n.jetstream.URLs, "@"):
		return fmt.Sprintf("; NATS refused the user in %s", setting("notes"))
	case isAuthError(err):
		return fmt.Sprintf("; NATS wants credentials: set %s to a credentials file, "+
			"or put a user and password in %s", setting("nats-creds"), setting("notes"))
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("; is NATS running with JetStream (-js) at %s?", redactURL(n.jetstream.URLs))
	}
	return ""
}

// isAuthError reports whether err is NATS refusing a client's credentials.
func isAuthError(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked) || errors.Is(err, nats.ErrAccountAuthExpired)
}

// urls returns the NATS URLs to connect to: those of --notes, with the
// password of --notes-password-file, when there is one, in each.
func (n *notesFlags) urls() string {
	if n.password == "" {
		return n.jetstream.URLs
	}
	return replaceUsers(n.jetstream.URLs, func(u *url.Userinfo) *url.Userinfo {
		return url.UserPassword(u.Username(), n.password)
	})
}

// readSecretFile returns the secret a file holds, without the line break
// an editor leaves at its end.
func readSecretFile(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	secret := string(bytes.TrimRight(data, "\r\n"))
	if secret == "" {
		return "", fmt.Errorf("%s is empty", file)
	}
	return secret, nil
}
