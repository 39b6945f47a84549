package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/notes"
	"github.com/routeguide/routeguide/server/transport"
)

// limitFlags are the flags that bound what clients can make the server hold
// or do. Their defaults are safe for a server anyone can reach.
type limitFlags struct {
	service server.Limits
	conn    transport.ConnLimits
}

func addLimitFlags(flags *flag.FlagSet) *limitFlags {
	l := &limitFlags{service: server.DefaultLimits(), conn: transport.ConnLimits{}.WithDefaults()}
	s, c := &l.service, &l.conn
	flags.IntVar(&s.MaxMessageBytes, "max-message-bytes", s.MaxMessageBytes,
		"largest message read or sent, after decompression; past it: resource_exhausted")
	flags.IntVar(&s.MaxRoutePoints, "max-route-points", s.MaxRoutePoints,
		"most points in one RecordRoute call; past it: resource_exhausted")
	flags.IntVar(&s.MaxNoteBytes, "max-note-bytes", s.MaxNoteBytes,
		"longest note text RouteChat stores; past it: invalid_argument")
	flags.IntVar(&s.MaxNotesPerLocation, "max-notes-per-location", s.MaxNotesPerLocation,
		"notes kept at one location, and so the most replies to a note; the oldest are evicted")
	flags.Int64Var(&s.MaxStoredNoteBytes, "max-stored-note-bytes", s.MaxStoredNoteBytes,
		fmt.Sprintf("memory for all notes, each counted as its text plus %d bytes; the oldest anywhere are evicted", notes.OverheadBytes))
	flags.DurationVar(&s.StreamIdleTimeout, "stream-idle-timeout", s.StreamIdleTimeout,
		"end a call whose client sends nothing this long while the server waits: deadline_exceeded")
	flags.DurationVar(&s.WriteTimeout, "write-timeout", s.WriteTimeout,
		"reset a stream, or close a connection, when a write to it makes no progress this long")
	flags.DurationVar(&s.DefaultTimeout, "default-timeout", s.DefaultTimeout,
		"deadline of a unary call that asks for none; at most --max-timeout")
	flags.DurationVar(&s.MaxTimeout, "max-timeout", s.MaxTimeout,
		"longest any call may run, whatever it asks; the deadline of streams that ask for none")
	flags.DurationVar(&s.RequestReadTimeout, "request-read-timeout", s.RequestReadTimeout,
		"time a unary call's request has to arrive after its headers, whatever its deadline: deadline_exceeded")
	flags.IntVar(&s.MaxWatchesPerClient, "max-watches-per-client", s.MaxWatchesPerClient,
		"WatchNotes streams one client (author ID, else address) may hold open; past it: resource_exhausted")
	flags.IntVar(&s.MaxWatches, "max-watches", s.MaxWatches,
		fmt.Sprintf("WatchNotes streams open at once from all clients, %d KiB each at most; past it: resource_exhausted", notes.WatchCost>>10))
	flags.DurationVar(&s.WatchStall, "watch-stall", s.WatchStall,
		"cut off a WatchNotes stream whose client takes nothing sent for this long: resource_exhausted with where to resume; shorter than --write-timeout")
	flags.IntVar(&c.MaxConnections, "max-connections", c.MaxConnections,
		"most connections open at once; more wait to be accepted")
	flags.IntVar(&c.MaxConcurrentStreams, "max-concurrent-streams", c.MaxConcurrentStreams,
		"most calls in progress on one HTTP/2 connection")
	flags.IntVar(&c.MaxHeaderBytes, "max-header-bytes", c.MaxHeaderBytes,
		"largest request header block")
	flags.IntVar(&c.ConnReceiveWindow, "conn-receive-window", c.ConnReceiveWindow,
		"most unread request bytes one HTTP/2 connection may send (its flow-control window); at least 65536")
	flags.IntVar(&c.StreamReceiveWindow, "stream-receive-window", c.StreamReceiveWindow,
		"most unread request bytes one HTTP/2 stream may send; at most --conn-receive-window")
	flags.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", c.ReadHeaderTimeout,
		"time a client has to send a request's headers")
	flags.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout,
		"close a connection with no call in progress after this long")
	flags.DurationVar(&c.PingInterval, "ping-interval", c.PingInterval,
		"ping an HTTP/2 connection that has been silent this long")
	flags.DurationVar(&c.PingTimeout, "ping-timeout", c.PingTimeout,
		"close an HTTP/2 connection whose ping is not answered in this long")
	return l
}

// limitFlagNames names the flag of each field of server.Limits that
// server.LimitConflict can name.
var limitFlagNames = map[string]string{
	"MaxMessageBytes":     "max-message-bytes",
	"MaxRoutePoints":      "max-route-points",
	"MaxNoteBytes":        "max-note-bytes",
	"MaxNotesPerLocation": "max-notes-per-location",
	"MaxStoredNoteBytes":  "max-stored-note-bytes",
	"StreamIdleTimeout":   "stream-idle-timeout",
	"WriteTimeout":        "write-timeout",
	"DefaultTimeout":      "default-timeout",
	"MaxTimeout":          "max-timeout",
	"RequestReadTimeout":  "request-read-timeout",
	"MaxWatchesPerClient": "max-watches-per-client",
	"MaxWatches":          "max-watches",
	"WatchStall":          "watch-stall",
}

// check rejects values that would switch a limit off or make no sense,
// naming each as setting names it. explicit reports whether the operator
// set a flag; one left at its default gives way to one that was set.
func (l *limitFlags) check(setting func(flagName string) string, explicit func(flagName string) bool) error {
	for name, v := range map[string]int64{
		"max-message-bytes":      int64(l.service.MaxMessageBytes),
		"max-route-points":       int64(l.service.MaxRoutePoints),
		"max-note-bytes":         int64(l.service.MaxNoteBytes),
		"max-notes-per-location": int64(l.service.MaxNotesPerLocation),
		"max-stored-note-bytes":  l.service.MaxStoredNoteBytes,
		"stream-idle-timeout":    int64(l.service.StreamIdleTimeout),
		"write-timeout":          int64(l.service.WriteTimeout),
		"default-timeout":        int64(l.service.DefaultTimeout),
		"max-timeout":            int64(l.service.MaxTimeout),
		"request-read-timeout":   int64(l.service.RequestReadTimeout),
		"max-watches-per-client": int64(l.service.MaxWatchesPerClient),
		"max-watches":            int64(l.service.MaxWatches),
		"watch-stall":            int64(l.service.WatchStall),
		"max-connections":        int64(l.conn.MaxConnections),
		"max-concurrent-streams": int64(l.conn.MaxConcurrentStreams),
		"max-header-bytes":       int64(l.conn.MaxHeaderBytes),
		"conn-receive-window":    int64(l.conn.ConnReceiveWindow),
		"stream-receive-window":  int64(l.conn.StreamReceiveWindow),
		"read-header-timeout":    int64(l.conn.ReadHeaderTimeout),
		"idle-timeout":           int64(l.conn.IdleTimeout),
		"ping-interval":          int64(l.conn.PingInterval),
		"ping-timeout":           int64(l.conn.PingTimeout),
	} {
		if v <= 0 {
			return fmt.Errorf("%s must be positive", setting(name))
		}
	}
	// HTTP/2 allows no smaller connection window, and net/http would
	// quietly take its 1 MiB default instead; HTTP/2 caps windows below 4 MiB.
	if w := l.conn.ConnReceiveWindow; w < 64<<10 || w >= 4<<20 {
		return fmt.Errorf("%s %d: must be at least 65536 and less than 4 MiB", setting("conn-receive-window"), w)
	}
	if w := l.conn.StreamReceiveWindow; w > l.conn.ConnReceiveWindow {
		return fmt.Errorf("%s %d must not be larger than %s %d", setting("stream-receive-window"), w,
			setting("conn-receive-window"), l.conn.ConnReceiveWindow)
	}
	if !explicit("default-timeout") && l.service.DefaultTimeout > l.service.MaxTimeout {
		l.service.DefaultTimeout = l.service.MaxTimeout
	}
	if !explicit("watch-stall") && l.service.WatchStall >= l.service.WriteTimeout {
		l.service.WatchStall = l.service.WriteTimeout / 2
	}
	var conflict *server.LimitConflict
	if err := l.service.Validate(); errors.As(err, &conflict) {
		return fmt.Errorf("%s %s %s %s %s", setting(limitFlagNames[conflict.Field]), conflict.Values[0],
			conflict.Problem, setting(limitFlagNames[conflict.Other]), conflict.Values[1])
	} else if err != nil {
		return err
	}
	l.conn.WriteTimeout = l.service.WriteTimeout
	return nil
}
