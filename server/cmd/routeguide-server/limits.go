package main

import (
	"errors"
	"flag"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/routeguide/routeguide/server/limits"
)

type limitFlag struct{ name, field, usage string }

// limitFlags are the flags that bound what clients can make the server hold
// or do, each setting the field of limits.Limits it names. Their defaults,
// those of [limits.Default], are safe for a server anyone can reach.
var limitFlags = []limitFlag{
	{"max-message-bytes", "MaxMessageBytes", "largest message read or sent, after decompression; past it: resource_exhausted"},
	{"max-route-points", "MaxRoutePoints", "most points in one RecordRoute call; past it: resource_exhausted"},
	{"max-note-bytes", "MaxNoteBytes", "longest note text RouteChat stores; past it: invalid_argument"},
	{"max-notes-per-location", "MaxNotesPerLocation", "notes kept at one location, and so the most replies to a note; the oldest are evicted"},
	{"max-stored-note-bytes", "MaxStoredNoteBytes", fmt.Sprintf(
		"memory for all notes, each counted as its text plus %d bytes; the oldest anywhere are evicted", limits.NoteOverheadBytes)},
	{"stream-idle-timeout", "StreamIdleTimeout", "end a call whose client sends nothing this long while the server waits: deadline_exceeded"},
	{"write-timeout", "WriteTimeout", "reset a stream, or close a connection, when a write to it makes no progress this long"},
	{"default-timeout", "DefaultTimeout", "deadline of a unary call that asks for none; at most --max-timeout"},
	{"max-timeout", "MaxTimeout", "longest any call may run, whatever it asks; the deadline of streams that ask for none"},
	{"request-read-timeout", "RequestReadTimeout",
		"time a unary call's request has to arrive after its headers, whatever its deadline: deadline_exceeded"},
	{"max-watches-per-client", "MaxWatchesPerClient",
		"WatchNotes streams one client (author ID, else address) may hold open; past it: resource_exhausted"},
	{"max-watches", "MaxWatches", fmt.Sprintf(
		"WatchNotes streams open at once from all clients, %d KiB each at most; past it: resource_exhausted", limits.WatchCost>>10)},
	{"watch-stall", "WatchStall", "cut off a WatchNotes stream whose client takes nothing sent for this long: " +
		"resource_exhausted with where to resume; shorter than --write-timeout"},
	{"max-connections", "MaxConnections", "most connections open at once; more wait to be accepted"},
	{"max-concurrent-streams", "MaxConcurrentStreams", "most calls in progress on one HTTP/2 connection"},
	{"max-header-bytes", "MaxHeaderBytes", "largest request header block"},
	{"conn-receive-window", "ConnReceiveWindow",
		"most unread request bytes one HTTP/2 connection may send (its flow-control window); at least 65536"},
	{"stream-receive-window", "StreamReceiveWindow", "most unread request bytes one HTTP/2 stream may send; at most --conn-receive-window"},
	{"read-header-timeout", "ReadHeaderTimeout", "time a client has to send a request's headers"},
	{"idle-timeout", "IdleTimeout", "close a connection with no call in progress after this long"},
	{"ping-interval", "PingInterval", "ping an HTTP/2 connection that has been silent this long"},
	{"ping-timeout", "PingTimeout", "close an HTTP/2 connection whose ping is not answered in this long"},
}

// addLimitFlags adds limitFlags, each of which sets its field of *l.
func addLimitFlags(flags *flag.FlagSet, l *limits.Limits) {
	*l = limits.Default()
	fields := reflect.ValueOf(l).Elem()
	for _, f := range limitFlags {
		switch p := fields.FieldByName(f.field).Addr().Interface().(type) {
		case *int:
			flags.IntVar(p, f.name, *p, f.usage)
		case *int64:
			flags.Int64Var(p, f.name, *p, f.usage)
		case *time.Duration:
			flags.DurationVar(p, f.name, *p, f.usage)
		default:
			panic(fmt.Sprintf("limit flag --%s: field %s is a %T", f.name, f.field, p))
		}
	}
}

// limitFlagName returns the flag of the field of limits.Limits named field.
func limitFlagName(field string) string {
	if i := slices.IndexFunc(limitFlags, func(f limitFlag) bool { return f.field == field }); i >= 0 {
		return limitFlags[i].name
	}
	return field
}

// checkLimits rejects values of l that would switch a limit off or make no
// sense, naming each as setting names it. explicit reports whether the
// operator set a flag; one left at its default gives way to one that was
// set.
func checkLimits(l *limits.Limits, setting func(flagName string) string, explicit func(flagName string) bool) error {
	// Zero would mean the default to limits.Limits, and a negative value
	// the same: the operator meant neither.
	fields := reflect.ValueOf(l).Elem()
	for _, f := range limitFlags {
		if fields.FieldByName(f.field).Int() <= 0 {
			return fmt.Errorf("%s must be positive", setting(f.name))
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
		return fmt.Errorf("%s %s %s %s %s", setting(limitFlagName(conflict.Field)), conflict.Values[0],
			conflict.Problem, setting(limitFlagName(conflict.Other)), conflict.Values[1])
	} else if err != nil {
		return err
	}
	return nil
}
