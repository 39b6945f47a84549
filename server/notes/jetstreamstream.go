package notes

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/routeguide/routeguide/server/internal/defaults"
	"github.com/routeguide/routeguide/server/limits"
)

// JetStreamConfig says where a [JetStream] store keeps its notes and how
// much of them.
type JetStreamConfig struct {
	// URLs are the NATS servers to connect to, comma-separated, such as
	// "nats://a:4222,nats://b:4222"; a user and password may be in them.
	URLs string
	// CredsFile, when set, is a NATS credentials file (a user JWT and its
	// NKey seed) to connect with.
	CredsFile string
	// CAFile, when set, is a PEM file of the certificate authorities that
	// a tls:// server's certificate must chain to, instead of the system's.
	CAFile string
	// Stream is the name of the stream holding the notes. Default
	// "ROUTEGUIDE_NOTES".
	Stream string
	// Subject is the prefix of the stream's subjects; a note at latitude
	// lat and longitude lng is stored at Subject.lat.lng. Default
	// "routeguide.notes".
	Subject string
	// Replicas is how many NATS servers hold each note; 3 survives the loss
	// of one. Default 1.
	Replicas int
	// Limits map onto the stream: MaxNotesPerLocation is its maximum of
	// messages per subject, MaxStoredNoteBytes its maximum size as
	// JetStream counts it, the oldest notes anywhere discarded first, and
	// its maximum message size is MaxNoteBytes plus [HeaderAllowance].
	// WatchBuffer and MaxReplay apply to this replica's watchers. Zero
	// fields take their defaults.
	Limits limits.Limits
	// Timeout bounds one store operation, such as storing a note while the
	// stream elects a new leader. Default 10 seconds.
	Timeout time.Duration
	// ProbeInterval is how often the store asks NATS whether it answers
	// and whether the stream is still the one it follows. Default 1 s.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a probe waits for NATS before the store
	// calls itself unavailable. Default 2 s: a NATS that stops answering
	// is noticed within 4 s, ProbeInterval and two probe timeouts.
	ProbeTimeout time.Duration
	// Name is the NATS connection's name, shown by the server's monitoring.
	// Default "routeguide-server".
	Name string
	// Logger is told when the connection is lost and regained. Default:
	// nothing is logged.
	Logger *slog.Logger
}

// HeaderAllowance is what a note's stream message may hold beyond its text:
// the header that lets a publish be retried without storing it twice, and
// the author's ID and name. A stream made with a smaller allowance (128,
// before notes had authors) has its maximum message size raised at start.
const HeaderAllowance = 512

func (c JetStreamConfig) withDefaults() JetStreamConfig {
	c.Stream = cmp.Or(c.Stream, "ROUTEGUIDE_NOTES")
	c.Subject = cmp.Or(c.Subject, "routeguide.notes")
	c.Name = cmp.Or(c.Name, "routeguide-server")
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	defaults.Set(&c.Replicas, 1)
	c.Limits = c.Limits.WithDefaults()
	defaults.Set(&c.Timeout, 10*time.Second)
	defaults.Set(&c.ProbeInterval, time.Second)
	defaults.Set(&c.ProbeTimeout, 2*time.Second)
	return c
}

// streamConfig is the stream the notes need under c.
func (c JetStreamConfig) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              c.Stream,
		Description:       "RouteGuide notes, one subject per location",
		Subjects:          []string{c.Subject + ".>"},
		Storage:           jetstream.FileStorage,
		Replicas:          c.Replicas,
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxMsgsPerSubject: int64(c.Limits.MaxNotesPerLocation),
		MaxBytes:          c.Limits.MaxStoredNoteBytes,
		MaxMsgSize:        int32(c.Limits.MaxNoteBytes + HeaderAllowance),
		MaxMsgs:           -1,
		MaxAge:            0,
		// Direct gets let a RouteChat reply read a location's notes in
		// one request.
		AllowDirect: true,
	}
}

// conflicts lists how an existing stream differs from what the notes need.
func conflicts(have, want jetstream.StreamConfig) []string {
	var diffs []string
	differ := func(name string, have, want any) {
		if have != want {
			diffs = append(diffs, fmt.Sprintf("%s is %v, want %v", name, have, want))
		}
	}
	differ("subjects", strings.Join(have.Subjects, ","), strings.Join(want.Subjects, ","))
	differ("storage", have.Storage, want.Storage)
	differ("replicas", have.Replicas, want.Replicas)
	differ("retention", have.Retention, want.Retention)
	differ("discard", have.Discard, want.Discard)
	differ("max_msgs_per_subject", have.MaxMsgsPerSubject, want.MaxMsgsPerSubject)
	differ("max_bytes", have.MaxBytes, want.MaxBytes)
	differ("max_msg_size", have.MaxMsgSize, want.MaxMsgSize)
	differ("max_msgs", have.MaxMsgs, want.MaxMsgs)
	differ("max_age", have.MaxAge, want.MaxAge)
	differ("allow_direct", have.AllowDirect, want.AllowDirect)
	// What the notes stream never sets, and would change what a note
	// posted means: unacknowledged writes look lost and are retried
	// twice, transforms and sources put notes at other locations or
	// notes from elsewhere in the feed, denied deletes stop moderation.
	differ("no_ack", have.NoAck, want.NoAck)
	differ("subject_transform", have.SubjectTransform != nil, want.SubjectTransform != nil)
	differ("sources", len(have.Sources), len(want.Sources))
	differ("mirror", have.Mirror != nil, want.Mirror != nil)
	differ("deny_delete", have.DenyDelete, want.DenyDelete)
	differ("sealed", have.Sealed, want.Sealed)
	differ("discard_new_per_subject", have.DiscardNewPerSubject, want.DiscardNewPerSubject)
	differ("republish", have.RePublish != nil, want.RePublish != nil)
	return diffs
}

// ensureStream creates the stream or checks the existing one, trying again
// while NATS is out of reach, until ctx is done. A certificate that NATS
// presents and this replica does not trust is no reason to wait: it is
// reported at once.
func (s *JetStream) ensureStream(ctx context.Context) (info *jetstream.StreamInfo, err error) {
	unavailable := func(err error) bool { return errors.Is(err, ErrUnavailable) }
	untrusted := func(err error) bool {
		var verify *tls.CertificateVerificationError
		return errors.As(err, &verify)
	}
	err = retry(ctx, func(err error) bool { return unavailable(err) && !untrusted(err) }, func() error {
		info, err = s.tryEnsureStream(ctx, s.cfg.streamConfig())
		return err
	})
	if unavailable(err) {
		return nil, fmt.Errorf("open notes store: %w", err)
	}
	return info, err
}

func (s *JetStream) tryEnsureStream(ctx context.Context, want jetstream.StreamConfig) (*jetstream.StreamInfo, error) {
	if !s.nc.IsConnected() {
		err := s.nc.LastError()
		if s.nc.IsClosed() {
			// The client has given up by itself, as it does when a server
			// refuses the same credentials twice: waiting cannot help.
			if err == nil {
				err = nats.ErrConnectionClosed
			}
			return nil, fmt.Errorf("open notes store: NATS at %s refused the connection: %w", RedactURLs(s.cfg.URLs), err)
		}
		if err != nil {
			// Such as an authorization violation or a certificate not
			// trusted: say so, not just that NATS is out of reach.
			return nil, fmt.Errorf("%w: NATS at %s not reachable: %w", ErrUnavailable, RedactURLs(s.cfg.URLs), err)
		}
		return nil, fmt.Errorf("%w: NATS at %s not reachable", ErrUnavailable, RedactURLs(s.cfg.URLs))
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	stream, err := s.js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		stream, err = s.js.CreateStream(ctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			// Another replica created it first.
			stream, err = s.js.Stream(ctx, want.Name)
		}
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			// Replicas that start together race to create the stream: the
			// one that lost may look before the cluster has placed the
			// winner's. Look again.
			return nil, fmt.Errorf("%w: stream %s is still being created: %w", ErrUnavailable, want.Name, err)
		}
	}
	if err != nil {
		if isTransient(err) {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil, fmt.Errorf("open notes store: stream %s: %w", want.Name, err)
	}
	info := stream.CachedInfo()
	// A stream made before notes had authors holds smaller messages: make
	// room for their headers when that is all that differs, which raising
	// loses nothing.
	if cfg := info.Config; cfg.MaxMsgSize > 0 && cfg.MaxMsgSize < want.MaxMsgSize {
		cfg.MaxMsgSize = want.MaxMsgSize
		if len(conflicts(cfg, want)) == 0 {
			updated, err := s.js.UpdateStream(ctx, cfg)
			if err != nil {
				return nil, fmt.Errorf("open notes store: stream %s: raise max_msg_size to %d: %w", want.Name, want.MaxMsgSize, err)
			}
			info = updated.CachedInfo()
		}
	}
	if diffs := conflicts(info.Config, want); len(diffs) > 0 {
		return nil, fmt.Errorf("open notes store: stream %s exists with another configuration: %s; "+
			"start with flags that match it, or change or delete the stream", want.Name, strings.Join(diffs, "; "))
	}
	return info, nil
}

// errDuplicateInProcess is JetStream's answer to a publish whose message
// ID an earlier attempt still being stored holds (nats-server's
// JSStreamDuplicateMessageConflict): a retry after an attempt timed out
// while the stream was electing a leader. Trying again gets the first
// attempt's acknowledgement, or stores the note if that attempt failed.
// errors.Is matches an API error by its code.
var errDuplicateInProcess = &jetstream.APIError{Code: 409, ErrorCode: 10158}

// isTransient says whether err may go away by itself, as while NATS
// restarts or a stream elects a leader.
func isTransient(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, errDuplicateInProcess) ||
		errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionClosed) ||
		errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, nats.ErrReconnectBufExceeded) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		isAPIError(err, 503)
}

func isAPIError(err error, code int) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == code
}
