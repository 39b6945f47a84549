package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/notes"
)

// notesFlags say where RouteChat's and NotesService's notes live.
type notesFlags struct {
	store       string // "memory" or NATS URLs
	credsFile   string
	caFile      string
	replicas    int
	stream      string
	openTimeout time.Duration
}

func addNotesFlags(flags *flag.FlagSet) *notesFlags {
	n := &notesFlags{}
	flags.StringVar(&n.store, "notes", "memory",
		"where notes live: memory (this process only), or the `URL`s of NATS JetStream servers, "+
			"comma-separated, such as nats://user:password@host:4222 or tls://host:4222, shared by every replica")
	flags.StringVar(&n.credsFile, "nats-creds", "",
		"NATS credentials `file` (user JWT and NKey seed) to connect to --notes with")
	flags.StringVar(&n.caFile, "nats-ca", "",
		"PEM `file` of the certificate authorities a tls:// NATS server's certificate must chain to (default: the system's)")
	flags.IntVar(&n.replicas, "notes-replicas", 1,
		"NATS servers that hold each note; 3 in a three-node cluster survives the loss of one")
	flags.StringVar(&n.stream, "notes-stream", "ROUTEGUIDE_NOTES",
		"`name` of the JetStream stream of notes; it is created, or checked against the limits, at start")
	flags.DurationVar(&n.openTimeout, "notes-open-timeout", 30*time.Second,
		"how long to wait at start for NATS to be reachable and the stream to be ready")
	return n
}

// isMemory reports whether the notes stay in this process.
func (n *notesFlags) isMemory() bool {
	return n.store == "" || n.store == "memory"
}

// check validates the notes flags, naming each as setting names it.
func (n *notesFlags) check(setting func(flagName string) string) error {
	if n.isMemory() {
		if n.credsFile != "" {
			return fmt.Errorf("%s needs %s to be NATS URLs", setting("nats-creds"), setting("notes"))
		}
		if n.caFile != "" {
			return fmt.Errorf("%s needs %s to be NATS URLs", setting("nats-ca"), setting("notes"))
		}
		return nil
	}
	for u := range strings.SplitSeq(n.store, ",") {
		u = strings.TrimSpace(u)
		parsed, err := url.Parse(u)
		if err != nil || parsed.Host == "" {
			return fmt.Errorf("%s: %q is neither memory nor a URL such as nats://host:4222", setting("notes"), redactURL(u))
		}
		switch parsed.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("%s: %q has scheme %q: want nats://, tls://, ws:// or wss://",
				setting("notes"), redactURL(u), parsed.Scheme)
		}
	}
	if n.replicas < 1 || n.replicas > 5 {
		return fmt.Errorf("%s %d: JetStream keeps 1 to 5 replicas", setting("notes-replicas"), n.replicas)
	}
	if n.openTimeout <= 0 {
		return fmt.Errorf("%s %v: must be positive", setting("notes-open-timeout"), n.openTimeout)
	}
	for name, file := range map[string]string{"nats-creds": n.credsFile, "nats-ca": n.caFile} {
		if file == "" {
			continue
		}
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("%s: %w", setting(name), err)
		}
	}
	return nil
}

// open returns the store the flags ask for, with the service's limits, or
// nil for the in-memory store the server makes itself. The caller must
// close a store it gets.
func (n *notesFlags) open(ctx context.Context, limits server.Limits, logger *slog.Logger) (*notes.JetStream, error) {
	if n.isMemory() {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, n.openTimeout)
	defer cancel()
	store, err := notes.OpenJetStream(ctx, notes.JetStreamConfig{
		URLs:      n.store,
		CredsFile: n.credsFile,
		CAFile:    n.caFile,
		Stream:    n.stream,
		Replicas:  n.replicas,
		Limits: notes.Limits{
			MaxPerLocation: limits.MaxNotesPerLocation,
			MaxBytes:       limits.MaxStoredNoteBytes,
		},
		MaxNoteBytes: limits.MaxNoteBytes,
		Logger:       logger,
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w; is NATS running with JetStream (-js) at %s?", err, redactURL(n.store))
	}
	return store, err
}

// redactURL hides the password in NATS URLs.
func redactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}
