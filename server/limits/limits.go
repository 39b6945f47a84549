// Package limits bounds what clients can make a RouteGuide server hold or
// do, in one value with its defaults: routeguide-server's flags fill it
// once, and each layer that enforces a bound (the service, the notes store,
// the transport) is given the value and reads its own fields.
package limits

import (
	"time"

	"github.com/routeguide/routeguide/server/internal/defaults"
)

// Limits bound what one caller can make the server hold or do, so that it
// keeps serving everyone else. A zero field takes its default, so the zero
// Limits is the safe one. The fields are grouped by the layer that
// enforces them.
type Limits struct {
	// Messages, enforced by connect-go and the service.

	// MaxMessageBytes is the largest message, after decompression, that
	// the server reads or sends; past it the call fails with
	// resource_exhausted. Default 4 MiB, grpc-go's default.
	MaxMessageBytes int
	// MaxRoutePoints is the most points one RecordRoute call may send;
	// past it the call fails with resource_exhausted. Default 1,000,000.
	MaxRoutePoints int
	// MaxNoteBytes is the longest note text RouteChat stores; a longer note
	// fails the call with invalid_argument. Default 1 KiB.
	MaxNoteBytes int

	// The notes store (server/notes).

	// MaxNotesPerLocation is how many notes a location keeps, and so the
	// most replies one note gets; the oldest are evicted first. Default 100.
	MaxNotesPerLocation int
	// MaxStoredNoteBytes bounds the memory of all notes together, counting
	// each as its text plus [NoteOverheadBytes]; past it the oldest notes
	// anywhere are evicted first. It must hold at least one note of
	// MaxNoteBytes. Default 64 MiB.
	MaxStoredNoteBytes int64
	// WatchBuffer is how many notes a watcher may surely fall behind the
	// store before it is cut off (notes.ErrTooSlow): behind the notes its
	// replica delivered; it is cut off once the notes it has not read are
	// dropped, up to twice that many behind. A watcher of an area is cut
	// off only once a note in its area is dropped unread: it is not woken
	// for the others, and skips them. Default 256. The notes wait in one
	// log that every watcher of the replica reads, so a watcher costs none
	// of it.
	WatchBuffer int
	// MaxReplay bounds a watcher's replay to the notes among the last
	// MaxReplay sequence numbers before it started. Default 1,000.
	MaxReplay int

	// WatchNotes streams, admitted by server/notes and cut off by the
	// service.

	// MaxWatchesPerClient is how many WatchNotes streams one client may
	// hold open at once: its author ID when signed in, otherwise its
	// address. Past it a watch fails with resource_exhausted. Default 64:
	// a household or an office behind one address can keep a few dozen
	// pages open, while one client alone can take no more than a
	// thousandth of the [WatchMemoryBudget].
	MaxWatchesPerClient int
	// MaxWatches is how many WatchNotes streams the server holds open at
	// once from all clients; past it a watch fails with
	// resource_exhausted. Default 65,536: a [WatchMemoryBudget] of 1 GiB
	// at [WatchCost], 16 KiB, a watcher.
	MaxWatches int
	// WatchStall cuts off a WatchNotes stream whose client has taken none
	// of what was sent to it for this long: the send makes no progress
	// because the stream's flow-control window is full. The watch then
	// holds no notes, and its client, once it reads what it was sent, gets
	// resource_exhausted with the after_sequence to resume from; a client
	// that never reads is reset by WriteTimeout. Default 10 seconds: longer
	// than a mobile network's outages (a handover, a few lost packets'
	// retransmissions), and short beside the watch buffer's 256 notes,
	// which a world watch at 20 notes/s fills in 13 s; or half of
	// WriteTimeout if that is shorter. The cut comes between it and a
	// quarter more, which must be shorter than WriteTimeout: that would
	// reset the stream first, without the sequence to resume from.
	WatchStall time.Duration

	// A call's life, enforced by server/transport.

	// StreamIdleTimeout ends a call whose client sends nothing for this
	// long while the server waits for a message, with deadline_exceeded.
	// Default 5 minutes.
	StreamIdleTimeout time.Duration
	// WriteTimeout ends a call when one write to its client makes no
	// progress for this long, as when a client stops reading a stream; the
	// stream is reset. A connection whose socket takes nothing for this
	// long is closed. Default 30 seconds.
	WriteTimeout time.Duration
	// DefaultTimeout is the deadline of a unary call that asks for none. It
	// must not be longer than MaxTimeout. Default 30 seconds, or MaxTimeout
	// if that is shorter.
	DefaultTimeout time.Duration
	// MaxTimeout is the longest any call may run, whatever deadline it asks
	// for; it is also the deadline of a stream that asks for none. Default
	// 1 hour.
	MaxTimeout time.Duration
	// RequestReadTimeout is how long a unary call's request may take to
	// arrive after its headers, whatever its deadline; past it the call
	// fails with deadline_exceeded. A unary call's deadline, too, runs
	// from its headers, so a request trickled in ends on time. Default 10
	// seconds.
	RequestReadTimeout time.Duration

	// Connections, enforced by server/transport's listener and
	// http.Server.

	// MaxConnections is how many connections may be open at once; more
	// wait in the kernel's queue to be accepted. Default 10,000.
	MaxConnections int
	// MaxConcurrentStreams is how many calls one HTTP/2 connection may
	// have in progress. Default 250.
	MaxConcurrentStreams int
	// MaxHeaderBytes is the largest request header block. Default 64 KiB.
	MaxHeaderBytes int
	// ConnReceiveWindow is the most request data, in bytes, an HTTP/2
	// connection may have sent that its handlers have not read yet: its
	// flow-control window. A client that stops reading its responses makes
	// its handlers stop reading too, and the server holds up to this much
	// for it until WriteTimeout resets its streams, so the worst case is
	// MaxConnections times this. At least 64 KiB; default 128 KiB (1.25
	// GiB at the default connection cap).
	ConnReceiveWindow int
	// StreamReceiveWindow is the same bound for one stream (call). At most
	// ConnReceiveWindow; default 64 KiB, which carries a message of the
	// default 4 MiB limit in 64 round trips.
	StreamReceiveWindow int
	// ReadHeaderTimeout is how long a client has to send a request's
	// headers. Default 10 seconds.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a connection with no call in progress after this
	// long. Default 2 minutes.
	IdleTimeout time.Duration
	// PingInterval pings an HTTP/2 connection that has been silent this
	// long. Default 1 minute.
	PingInterval time.Duration
	// PingTimeout closes an HTTP/2 connection whose ping is not answered in
	// this long. Default 20 seconds.
	PingTimeout time.Duration
}

// NoteOverheadBytes is what a notes store counts for each note on top of
// its text: in memory, the messages, the slot in its location and in the
// eviction queue, and a share of the map, as measured with 1,000,000
// one-note locations.
const NoteOverheadBytes = 256

// WatchMemoryBudget is the server memory the default limits let watchers
// take, and WatchCost what one watcher may cost, the goal for an idle
// watcher over HTTP/2: its stream, its handler's goroutine and its share
// of the store.
const (
	WatchMemoryBudget = 1 << 30
	WatchCost         = 16 << 10
)

// Default returns the limits a server applies when given none.
func Default() Limits {
	return Limits{}.WithDefaults()
}

// WithDefaults returns l with every zero or negative field set to its
// default.
func (l Limits) WithDefaults() Limits {
	defaults.Set(&l.MaxMessageBytes, 4<<20)
	defaults.Set(&l.MaxRoutePoints, 1_000_000)
	defaults.Set(&l.MaxNoteBytes, 1<<10)
	defaults.Set(&l.MaxNotesPerLocation, 100)
	defaults.Set(&l.MaxStoredNoteBytes, 64<<20)
	defaults.Set(&l.WatchBuffer, 256)
	defaults.Set(&l.MaxReplay, 1000)
	defaults.Set(&l.MaxWatchesPerClient, 64)
	defaults.Set(&l.MaxWatches, WatchMemoryBudget/WatchCost)
	defaults.Set(&l.StreamIdleTimeout, 5*time.Minute)
	defaults.Set(&l.WriteTimeout, 30*time.Second)
	// At least a nanosecond, so that a WriteTimeout too short to halve
	// gets a Conflict rather than a stall that cuts every watch off.
	defaults.Set(&l.WatchStall, max(time.Nanosecond, min(10*time.Second, l.WriteTimeout/2)))
	defaults.Set(&l.MaxTimeout, time.Hour)
	defaults.Set(&l.DefaultTimeout, min(30*time.Second, l.MaxTimeout))
	defaults.Set(&l.RequestReadTimeout, 10*time.Second)
	defaults.Set(&l.MaxConnections, 10_000)
	defaults.Set(&l.MaxConcurrentStreams, 250)
	defaults.Set(&l.MaxHeaderBytes, 64<<10)
	defaults.Set(&l.ConnReceiveWindow, 128<<10)
	defaults.Set(&l.StreamReceiveWindow, min(64<<10, l.ConnReceiveWindow))
	defaults.Set(&l.ReadHeaderTimeout, 10*time.Second)
	defaults.Set(&l.IdleTimeout, 2*time.Minute)
	defaults.Set(&l.PingInterval, time.Minute)
	defaults.Set(&l.PingTimeout, 20*time.Second)
	return l
}
