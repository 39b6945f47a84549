package server

import (
	"fmt"
	"strconv"
	"time"

	"github.com/routeguide/routeguide/server/internal/defaults"
	"github.com/routeguide/routeguide/server/notes"
	"github.com/routeguide/routeguide/server/transport"
)

// Limits bound what one caller can make the server hold or do, so that it
// keeps serving everyone else. A zero field takes its default, so the zero
// Limits is the safe one.
type Limits struct {
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
	// MaxNotesPerLocation is how many notes a location keeps, and so the
	// most replies one note gets; the oldest are evicted first. Default 100.
	MaxNotesPerLocation int
	// MaxStoredNoteBytes bounds the memory of all notes together, counting
	// each as its text plus [notes.OverheadBytes]; past it the oldest notes
	// anywhere are evicted first. It must hold at least one note of
	// MaxNoteBytes. Default 64 MiB.
	MaxStoredNoteBytes int64
	// StreamIdleTimeout ends a call whose client sends nothing for this
	// long while the server waits for a message, with deadline_exceeded.
	// Default 5 minutes.
	StreamIdleTimeout time.Duration
	// WriteTimeout ends a call when one write to its client makes no
	// progress for this long, as when a client stops reading a stream; the
	// stream is reset. Default 30 seconds.
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
	// MaxWatchesPerClient is how many WatchNotes streams one client may
	// hold open at once: its author ID when signed in, otherwise its
	// address. Past it a watch fails with resource_exhausted. Default
	// [notes.DefaultMaxWatchesPerClient], 64.
	MaxWatchesPerClient int
	// MaxWatches is how many WatchNotes streams the server holds open at
	// once from all clients; past it a watch fails with
	// resource_exhausted. Default [notes.DefaultMaxWatches], 65,536: a
	// [notes.WatchMemoryBudget] of 1 GiB at [notes.WatchCost], 16 KiB, a
	// watcher.
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
	// WriteTimeout if that is shorter. It must be shorter than
	// WriteTimeout, which would reset the stream first.
	WatchStall time.Duration
}

// DefaultLimits returns the limits a Server applies when given none.
func DefaultLimits() Limits {
	return Limits{}.withDefaults()
}

func (l Limits) withDefaults() Limits {
	defaults.Set(&l.MaxMessageBytes, 4<<20)
	defaults.Set(&l.MaxRoutePoints, 1_000_000)
	defaults.Set(&l.MaxNoteBytes, 1<<10)
	defaults.Set(&l.MaxNotesPerLocation, 100)
	defaults.Set(&l.MaxStoredNoteBytes, 64<<20)
	defaults.Set(&l.StreamIdleTimeout, 5*time.Minute)
	defaults.Set(&l.WriteTimeout, 30*time.Second)
	defaults.Set(&l.MaxTimeout, time.Hour)
	defaults.Set(&l.DefaultTimeout, min(30*time.Second, l.MaxTimeout))
	defaults.Set(&l.RequestReadTimeout, 10*time.Second)
	defaults.Set(&l.MaxWatchesPerClient, notes.DefaultMaxWatchesPerClient)
	defaults.Set(&l.MaxWatches, notes.DefaultMaxWatches)
	defaults.Set(&l.WatchStall, min(10*time.Second, l.WriteTimeout/2))
	return l
}

// Validate reports, as a [*LimitConflict], the first pair of fields of l,
// with its defaults applied, that contradict each other.
func (l Limits) Validate() error {
	l = l.withDefaults()
	if l.DefaultTimeout > l.MaxTimeout {
		return &LimitConflict{Field: "DefaultTimeout", Other: "MaxTimeout", Problem: "must not be longer than",
			Values: [2]string{l.DefaultTimeout.String(), l.MaxTimeout.String()}}
	}
	if l.WatchStall >= l.WriteTimeout {
		return &LimitConflict{Field: "WatchStall", Other: "WriteTimeout", Problem: "must be shorter than",
			Values: [2]string{l.WatchStall.String(), l.WriteTimeout.String()}}
	}
	if int64(l.MaxNoteBytes)+notes.OverheadBytes > l.MaxStoredNoteBytes {
		return &LimitConflict{Field: "MaxStoredNoteBytes", Other: "MaxNoteBytes",
			Problem: fmt.Sprintf("must hold at least one note (plus %d bytes counted per note) of", notes.OverheadBytes),
			Values:  [2]string{strconv.FormatInt(l.MaxStoredNoteBytes, 10), strconv.Itoa(l.MaxNoteBytes)}}
	}
	return nil
}

// A LimitConflict is the error of [Limits] with two fields that contradict
// each other.
type LimitConflict struct {
	// Field and Other name the fields, as in "DefaultTimeout".
	Field, Other string
	// Problem says what Field must be with respect to Other.
	Problem string
	// Values are the values of Field and Other, as text.
	Values [2]string
}

func (e *LimitConflict) Error() string {
	return fmt.Sprintf("limits: %s (%s) %s %s (%s)", e.Field, e.Values[0], e.Problem, e.Other, e.Values[1])
}

// transport returns the limits the transport enforces.
func (l Limits) transport() transport.Limits {
	return transport.Limits{
		StreamIdleTimeout:  l.StreamIdleTimeout,
		WriteTimeout:       l.WriteTimeout,
		DefaultTimeout:     l.DefaultTimeout,
		MaxTimeout:         l.MaxTimeout,
		RequestReadTimeout: l.RequestReadTimeout,
	}
}

// admission returns the caps on open watches.
func (l Limits) admission() notes.AdmissionLimits {
	return notes.AdmissionLimits{PerClient: l.MaxWatchesPerClient, Total: l.MaxWatches}
}

// notes returns the limits of the notes store.
func (l Limits) notes() notes.Limits {
	return notes.Limits{
		MaxPerLocation: l.MaxNotesPerLocation,
		MaxBytes:       l.MaxStoredNoteBytes,
		WatchBuffer:    notes.DefaultWatchBuffer,
		MaxReplay:      notes.DefaultMaxReplay,
	}
}

// WithLimits sets the server's limits; zero fields keep their defaults.
func WithLimits(limits Limits) Option {
	return optionFunc(func(c *config) { c.limits = limits })
}
