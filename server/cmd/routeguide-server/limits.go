package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"

	"github.com/routeguide/routeguide/server"
)

// limitFlags are the flags that bound what clients can make the server hold
// or do. Their defaults are safe for a server anyone can reach.
type limitFlags struct {
	service              server.Limits
	maxConnections       int
	maxConcurrentStreams int
	maxHeaderBytes       int
	readHeaderTimeout    time.Duration
	idleTimeout          time.Duration
	pingInterval         time.Duration
	pingTimeout          time.Duration
}

func addLimitFlags(flags *flag.FlagSet) *limitFlags {
	l := &limitFlags{service: server.DefaultLimits()}
	s := &l.service
	flags.IntVar(&s.MaxMessageBytes, "max-message-bytes", s.MaxMessageBytes,
		"largest message read or sent, after decompression; past it: resource_exhausted")
	flags.IntVar(&s.MaxRoutePoints, "max-route-points", s.MaxRoutePoints,
		"most points in one RecordRoute call; past it: resource_exhausted")
	flags.IntVar(&s.MaxNoteBytes, "max-note-bytes", s.MaxNoteBytes,
		"longest note text RouteChat stores; past it: invalid_argument")
	flags.IntVar(&s.MaxNotesPerLocation, "max-notes-per-location", s.MaxNotesPerLocation,
		"notes kept at one location, and so the most replies to a note; the oldest are evicted")
	flags.Int64Var(&s.MaxStoredNoteBytes, "max-stored-note-bytes", s.MaxStoredNoteBytes,
		"memory for all notes, each counted as its text plus 256 bytes; the oldest anywhere are evicted")
	flags.DurationVar(&s.StreamIdleTimeout, "stream-idle-timeout", s.StreamIdleTimeout,
		"end a call whose client sends nothing this long while the server waits: deadline_exceeded")
	flags.DurationVar(&s.WriteTimeout, "write-timeout", s.WriteTimeout,
		"reset a stream, or close a connection, when a write to it makes no progress this long")
	flags.DurationVar(&s.DefaultTimeout, "default-timeout", s.DefaultTimeout,
		"deadline of a unary call that asks for none")
	flags.DurationVar(&s.MaxTimeout, "max-timeout", s.MaxTimeout,
		"longest any call may run, whatever it asks; the deadline of streams that ask for none")
	flags.IntVar(&l.maxConnections, "max-connections", 10_000,
		"most connections open at once; more wait to be accepted")
	flags.IntVar(&l.maxConcurrentStreams, "max-concurrent-streams", 250,
		"most calls in progress on one HTTP/2 connection")
	flags.IntVar(&l.maxHeaderBytes, "max-header-bytes", 64<<10,
		"largest request header block")
	flags.DurationVar(&l.readHeaderTimeout, "read-header-timeout", 10*time.Second,
		"time a client has to send a request's headers")
	flags.DurationVar(&l.idleTimeout, "idle-timeout", 2*time.Minute,
		"close a connection with no call in progress after this long")
	flags.DurationVar(&l.pingInterval, "ping-interval", time.Minute,
		"ping an HTTP/2 connection that has been silent this long")
	flags.DurationVar(&l.pingTimeout, "ping-timeout", 20*time.Second,
		"close an HTTP/2 connection whose ping is not answered in this long")
	return l
}

// check rejects values that would switch a limit off or make no sense,
// naming each as setting names it.
func (l *limitFlags) check(setting func(flagName string) string) error {
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
		"max-connections":        int64(l.maxConnections),
		"max-concurrent-streams": int64(l.maxConcurrentStreams),
		"max-header-bytes":       int64(l.maxHeaderBytes),
		"read-header-timeout":    int64(l.readHeaderTimeout),
		"idle-timeout":           int64(l.idleTimeout),
		"ping-interval":          int64(l.pingInterval),
		"ping-timeout":           int64(l.pingTimeout),
	} {
		if v <= 0 {
			return fmt.Errorf("%s must be positive", setting(name))
		}
	}
	if l.service.MaxNoteBytes+256 > int(l.service.MaxStoredNoteBytes) {
		return fmt.Errorf("%s must hold at least one note of %s",
			setting("max-stored-note-bytes"), setting("max-note-bytes"))
	}
	return nil
}

// configure applies the connection-level limits to s.
func (l *limitFlags) configure(s *http.Server) {
	s.ReadHeaderTimeout = l.readHeaderTimeout
	s.IdleTimeout = l.idleTimeout
	s.MaxHeaderBytes = l.maxHeaderBytes
	// No ReadTimeout or WriteTimeout: they would cut long streams off. The
	// server's per-stream idle and write timeouts take their place.
	s.HTTP2 = &http.HTTP2Config{
		MaxConcurrentStreams: l.maxConcurrentStreams,
		// The smallest frame size HTTP/2 allows, as grpc-go's server
		// uses: a client cannot make a connection hold a larger read
		// buffer, and clients that assume the protocol's default get
		// the error they expect when they exceed it.
		MaxReadFrameSize: 16 << 10,
		SendPingTimeout:  l.pingInterval,
		PingTimeout:      l.pingTimeout,
		WriteByteTimeout: l.service.WriteTimeout,
	}
}

// limitConnections makes the listener hold further connections in the
// kernel's queue while max are open.
func (l *limitFlags) limitConnections(listener net.Listener) net.Listener {
	return netutil.LimitListener(listener, l.maxConnections)
}
