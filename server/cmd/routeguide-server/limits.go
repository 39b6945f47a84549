package main

import (
	"errors"
	"flag"
	"fmt"
	"reflect"

	"github.com/routeguide/routeguide/server/limits"
)

// addLimitFlags adds the flags that bound what clients can make the server
// hold or do, each of which sets its field of *l. Their defaults, those of
// [limits.Default], are safe for a server anyone can reach.
func addLimitFlags(flags *flag.FlagSet, l *limits.Limits) {
	*l = limits.Default()
	flags.IntVar(&l.MaxMessageBytes, "max-message-bytes", l.MaxMessageBytes,
		"largest message read or sent, after decompression; past it: resource_exhausted")
	flags.IntVar(&l.MaxRoutePoints, "max-route-points", l.MaxRoutePoints,
		"most points in one RecordRoute call; past it: resource_exhausted")
	flags.IntVar(&l.MaxNoteBytes, "max-note-bytes", l.MaxNoteBytes,
		"longest note text RouteChat stores; past it: invalid_argument")
	flags.IntVar(&l.MaxNotesPerLocation, "max-notes-per-location", l.MaxNotesPerLocation,
		"notes kept at one location, and so the most replies to a note; the oldest are evicted")
	flags.Int64Var(&l.MaxStoredNoteBytes, "max-stored-note-bytes", l.MaxStoredNoteBytes,
		fmt.Sprintf("memory for all notes, each counted as its text plus %d bytes; the oldest anywhere are evicted", limits.NoteOverheadBytes))
	flags.DurationVar(&l.StreamIdleTimeout, "stream-idle-timeout", l.StreamIdleTimeout,
		"end a call whose client sends nothing this long while the server waits: deadline_exceeded")
	flags.DurationVar(&l.WriteTimeout, "write-timeout", l.WriteTimeout,
		"reset a stream, or close a connection, when a write to it makes no progress this long")
	flags.DurationVar(&l.DefaultTimeout, "default-timeout", l.DefaultTimeout,
		"deadline of a unary call that asks for none; at most --max-timeout")
	flags.DurationVar(&l.MaxTimeout, "max-timeout", l.MaxTimeout,
		"longest any call may run, whatever it asks; the deadline of streams that ask for none")
	flags.DurationVar(&l.RequestReadTimeout, "request-read-timeout", l.RequestReadTimeout,
		"time a unary call's request has to arrive after its headers, whatever its deadline: deadline_exceeded")
	flags.IntVar(&l.MaxWatchesPerClient, "max-watches-per-client", l.MaxWatchesPerClient,
		"WatchNotes streams one client (author ID, else address) may hold open; past it: resource_exhausted")
	flags.IntVar(&l.MaxWatches, "max-watches", l.MaxWatches,
		fmt.Sprintf("WatchNotes streams open at once from all clients, %d KiB each at most; past it: resource_exhausted", limits.WatchCost>>10))
	flags.DurationVar(&l.WatchStall, "watch-stall", l.WatchStall,
		"cut off a WatchNotes stream whose client takes nothing sent for this long: resource_exhausted with where to resume; shorter than --write-timeout")
	flags.IntVar(&l.MaxConnections, "max-connections", l.MaxConnections,
		"most connections open at once; more wait to be accepted")
	flags.IntVar(&l.MaxConcurrentStreams, "max-concurrent-streams", l.MaxConcurrentStreams,
		"most calls in progress on one HTTP/2 connection")
	flags.IntVar(&l.MaxHeaderBytes, "max-header-bytes", l.MaxHeaderBytes,
		"largest request header block")
	flags.IntVar(&l.ConnReceiveWindow, "conn-receive-window", l.ConnReceiveWindow,
		"most unread request bytes one HTTP/2 connection may send (its flow-control window); at least 65536")
	flags.IntVar(&l.StreamReceiveWindow, "stream-receive-window", l.StreamReceiveWindow,
		"most unread request bytes one HTTP/2 stream may send; at most --conn-receive-window")
	flags.DurationVar(&l.ReadHeaderTimeout, "read-header-timeout", l.ReadHeaderTimeout,
		"time a client has to send a request's headers")
	flags.DurationVar(&l.IdleTimeout, "idle-timeout", l.IdleTimeout,
		"close a connection with no call in progress after this long")
	flags.DurationVar(&l.PingInterval, "ping-interval", l.PingInterval,
		"ping an HTTP/2 connection that has been silent this long")
	flags.DurationVar(&l.PingTimeout, "ping-timeout", l.PingTimeout,
		"close an HTTP/2 connection whose ping is not answered in this long")
}

// limitFlagNames names the flag of each field of limits.Limits that has
// one: the fields a limits.Conflict names, and those checkLimits finds not
// positive.
var limitFlagNames = map[string]string{
	"MaxMessageBytes":      "max-message-bytes",
	"MaxRoutePoints":       "max-route-points",
	"MaxNoteBytes":         "max-note-bytes",
	"MaxNotesPerLocation":  "max-notes-per-location",
	"MaxStoredNoteBytes":   "max-stored-note-bytes",
	"StreamIdleTimeout":    "stream-idle-timeout",
	"WriteTimeout":         "write-timeout",
	"DefaultTimeout":       "default-timeout",
	"MaxTimeout":           "max-timeout",
	"RequestReadTimeout":   "request-read-timeout",
	"MaxWatchesPerClient":  "max-watches-per-client",
	"MaxWatches":           "max-watches",
	"WatchStall":           "watch-stall",
	"MaxConnections":       "max-connections",
	"MaxConcurrentStreams": "max-concurrent-streams",
	"MaxHeaderBytes":       "max-header-bytes",
	"ConnReceiveWindow":    "conn-receive-window",
	"StreamReceiveWindow":  "stream-receive-window",
	"ReadHeaderTimeout":    "read-header-timeout",
	"IdleTimeout":          "idle-timeout",
	"PingInterval":         "ping-interval",
	"PingTimeout":          "ping-timeout",
}

// checkLimits rejects values of l that would switch a limit off or make no
// sense, naming each as setting names it. explicit reports whether the
// operator set a flag; one left at its default gives way to one that was
// set.
func checkLimits(l *limits.Limits, setting func(flagName string) string, explicit func(flagName string) bool) error {
	// Zero would mean the default to limits.Limits, and a negative value
	// the same: the operator meant neither.
	fields := reflect.ValueOf(l).Elem()
	for field, name := range limitFlagNames {
		if fields.FieldByName(field).Int() <= 0 {
			return fmt.Errorf("%s must be positive", setting(name))
		}
	}
	// HTTP/2 allows no smaller connection window, and net/http would
	// quietly take its 1 MiB default instead; HTTP/2 caps windows below 4 MiB.
	if w := l.ConnReceiveWindow; w < 64<<10 || w >= 4<<20 {
		return fmt.Errorf("%s %d: must be at least 65536 and less than 4 MiB", setting("conn-receive-window"), w)
	}
	if w := l.StreamReceiveWindow; w > l.ConnReceiveWindow {
		return fmt.Errorf("%s %d must not be larger than %s %d", setting("stream-receive-window"), w,
			setting("conn-receive-window"), l.ConnReceiveWindow)
	}
	if !explicit("default-timeout") && l.DefaultTimeout > l.MaxTimeout {
		l.DefaultTimeout = l.MaxTimeout
	}
	if !explicit("watch-stall") && l.WatchStall >= l.WriteTimeout {
		l.WatchStall = l.WriteTimeout / 2
	}
	var conflict *limits.Conflict
	if err := l.Validate(); errors.As(err, &conflict) {
		return fmt.Errorf("%s %s %s %s %s", setting(limitFlagNames[conflict.Field]), conflict.Values[0],
			conflict.Problem, setting(limitFlagNames[conflict.Other]), conflict.Values[1])
	} else if err != nil {
		return err
	}
	return nil
}
