package notes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/routeguide/routeguide/gen/routeguide"
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
	// Limits map onto the stream: MaxPerLocation is its maximum of
	// messages per subject (default 100), MaxBytes its maximum size as
	// JetStream counts it, the oldest notes anywhere discarded first
	// (default 64 MiB). The watch limits apply to this replica's watchers.
	Limits Limits
	// MaxNoteBytes is the longest note text; the stream's maximum message
	// size is this plus [HeaderAllowance]. Default 1 KiB.
	MaxNoteBytes int
	// Timeout bounds one store operation, such as storing a note while the
	// stream elects a new leader. Default 10 seconds.
	Timeout time.Duration
	// Name is the NATS connection's name, shown by the server's monitoring.
	// Default "routeguide-server".
	Name string
	// Logger is told when the connection is lost and regained. Default:
	// nothing is logged.
	Logger *slog.Logger
}

// HeaderAllowance is what a note's stream message may hold beyond its text:
// the header that lets a publish be retried without storing it twice.
const HeaderAllowance = 128

func (c JetStreamConfig) withDefaults() JetStreamConfig {
	if c.Stream == "" {
		c.Stream = "ROUTEGUIDE_NOTES"
	}
	if c.Subject == "" {
		c.Subject = "routeguide.notes"
	}
	if c.Name == "" {
		c.Name = "routeguide-server"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&c.Replicas, 1)
	setDefault(&c.Limits.MaxPerLocation, 100)
	setDefault(&c.Limits.MaxBytes, 64<<20)
	setDefault(&c.MaxNoteBytes, 1<<10)
	setDefault(&c.Timeout, 10*time.Second)
	return c
}

func setDefault[T int | int64 | time.Duration](field *T, value T) {
	if *field <= 0 {
		*field = value
	}
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
		MaxMsgsPerSubject: int64(c.Limits.MaxPerLocation),
		MaxBytes:          c.Limits.MaxBytes,
		MaxMsgSize:        int32(c.MaxNoteBytes + HeaderAllowance),
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
	return diffs
}

// JetStream keeps notes in a NATS JetStream stream shared by every replica
// of the service: one subject per location, so that the stream's limits
// per subject are the limits per location, and the stream's sequence is
// the one order of notes that every replica agrees on.
//
// It is safe for concurrent use. The caller must call Close when finished.
type JetStream struct {
	cfg  JetStreamConfig
	nc   *nats.Conn
	js   jetstream.JetStream
	feed *feed

	replies    *replies // the answers to direct gets
	repliesSub *nats.Subscription

	consumeMu sync.Mutex // protects consume
	consume   jetstream.ConsumeContext

	statsMu sync.Mutex // protects stats
	stats   Stats      // as last learnt
}

// OpenJetStream connects to NATS and creates the notes stream, or checks
// that the one there matches cfg; it refuses a stream that does not. It
// waits for NATS until ctx is done, so give it a deadline. Once open, the
// store reconnects by itself whenever the connection is lost; while it is,
// its methods return errors wrapping [ErrUnavailable].
func OpenJetStream(ctx context.Context, cfg JetStreamConfig) (*JetStream, error) {
	cfg = cfg.withDefaults()
	if cfg.URLs == "" {
		return nil, errors.New("open notes store: no NATS URL")
	}
	s := &JetStream{cfg: cfg, feed: newFeed(cfg.Limits.watchBuffer(), cfg.Limits.maxReplay())}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		// Nothing is held back while disconnected: a note is either
		// acknowledged by JetStream or its caller is told it is not.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(s.disconnected),
		nats.ReconnectHandler(s.reconnected),
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.CAFile != "" {
		opts = append(opts, nats.RootCAs(cfg.CAFile))
	}
	nc, err := nats.Connect(cfg.URLs, opts...)
	if err != nil {
		return nil, fmt.Errorf("open notes store: connect to NATS at %s: %w", redact(cfg.URLs), err)
	}
	s.nc = nc
	if s.replies, s.repliesSub, err = newReplies(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("open notes store: %w", err)
	}
	if s.js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("open notes store: %w", err)
	}
	info, err := s.ensureStream(ctx)
	if err != nil {
		nc.Close()
		return nil, err
	}
	// The feed starts with the next note stored; older ones are replayed on
	// request.
	s.feed.skipTo(info.State.LastSeq)
	if err := s.follow(ctx, info.State.LastSeq+1); err != nil {
		nc.Close()
		return nil, err
	}
	return s, nil
}

// ensureStream creates the stream or checks the existing one, trying again
// while NATS is out of reach, until ctx is done.
func (s *JetStream) ensureStream(ctx context.Context) (*jetstream.StreamInfo, error) {
	want := s.cfg.streamConfig()
	for {
		info, err := s.tryEnsureStream(ctx, want)
		if err == nil || !errors.Is(err, ErrUnavailable) {
			return info, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("open notes store: %w (gave up: %w)", err, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (s *JetStream) tryEnsureStream(ctx context.Context, want jetstream.StreamConfig) (*jetstream.StreamInfo, error) {
	if !s.nc.IsConnected() {
		if err := s.nc.LastError(); err != nil {
			// Such as an authorization violation: say so, not just that
			// NATS is out of reach.
			return nil, fmt.Errorf("%w: NATS at %s not reachable: %w", ErrUnavailable, redact(s.cfg.URLs), err)
		}
		return nil, fmt.Errorf("%w: NATS at %s not reachable", ErrUnavailable, redact(s.cfg.URLs))
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
	}
	if err != nil {
		if isTransient(err) {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil, fmt.Errorf("open notes store: stream %s: %w", want.Name, err)
	}
	info := stream.CachedInfo()
	if diffs := conflicts(info.Config, want); len(diffs) > 0 {
		return nil, fmt.Errorf("open notes store: stream %s exists with another configuration: %s; "+
			"start with flags that match it, or change or delete the stream", want.Name, strings.Join(diffs, "; "))
	}
	return info, nil
}

// isTransient says whether err may go away by itself, as while NATS
// restarts or a stream elects a leader.
func isTransient(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) ||
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

// follow starts the one consumer of this replica that feeds its watchers:
// an ordered consumer, which the client recreates from where it stopped
// whenever it stalls, so notes reach the feed once each, in stream order.
func (s *JetStream) follow(ctx context.Context, from uint64) error {
	stream, err := s.js.Stream(ctx, s.cfg.Stream)
	if err != nil {
		return fmt.Errorf("open notes store: stream %s: %w", s.cfg.Stream, err)
	}
	consumer, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   from,
	})
	if err != nil {
		return fmt.Errorf("open notes store: follow stream %s: %w", s.cfg.Stream, err)
	}
	consume, err := consumer.Consume(s.deliver,
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			s.cfg.Logger.Debug("notes feed", "error", err)
		}),
		// The consumer lives on one NATS server. Should that server die
		// while this replica stays connected to another, missed heartbeats
		// are what tell the client to recreate the consumer elsewhere:
		// within seconds, not the default half minute.
		jetstream.PullExpiry(5*time.Second),
		jetstream.PullHeartbeat(time.Second),
	)
	if err != nil {
		return fmt.Errorf("open notes store: follow stream %s: %w", s.cfg.Stream, err)
	}
	s.consumeMu.Lock()
	s.consume = consume
	s.consumeMu.Unlock()
	return nil
}

// deliver hands one message of the ordered consumer to the feed; the
// consumer calls it for one message at a time, in order.
func (s *JetStream) deliver(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		return
	}
	note, err := s.decode(msg.Subject(), msg.Data())
	if err != nil {
		s.cfg.Logger.Warn("notes feed: skipping a message that is not a note", "subject", msg.Subject(), "error", err)
		s.feed.skipTo(meta.Sequence.Stream)
		return
	}
	s.feed.publish(Event{Seq: meta.Sequence.Stream, Time: meta.Timestamp, Note: note})
}

func (s *JetStream) disconnected(_ *nats.Conn, err error) {
	s.cfg.Logger.Warn("notes store: lost the connection to NATS; reconnecting", "error", err)
	s.feed.cutAll(fmt.Errorf("%w: lost the connection to NATS", ErrUnavailable))
}

func (s *JetStream) reconnected(nc *nats.Conn) {
	s.cfg.Logger.Info("notes store: reconnected to NATS", "server", nc.ConnectedUrlRedacted())
}

// subject is where the notes at p are stored.
func (s *JetStream) subject(p *routeguide.Point) string {
	return fmt.Sprintf("%s.%d.%d", s.cfg.Subject, p.GetLatitude(), p.GetLongitude())
}

// decode turns a stream message back into its note: the location is in the
// subject, the text is the payload.
func (s *JetStream) decode(subject string, data []byte) (*routeguide.RouteNote, error) {
	rest, ok := strings.CutPrefix(subject, s.cfg.Subject+".")
	if !ok {
		return nil, fmt.Errorf("subject %q is outside %s", subject, s.cfg.Subject)
	}
	var lat, lng int32
	if _, err := fmt.Sscanf(rest, "%d.%d", &lat, &lng); err != nil {
		return nil, fmt.Errorf("subject %q has no location: %w", subject, err)
	}
	return &routeguide.RouteNote{
		Location: &routeguide.Point{Latitude: lat, Longitude: lng},
		Message:  string(data),
	}, nil
}

// Add stores note once JetStream acknowledges it, and returns every note
// stored at its location up to and including it, in stream order.
func (s *JetStream) Add(ctx context.Context, note *routeguide.RouteNote) ([]*routeguide.RouteNote, error) {
	if n := len(note.GetMessage()); n > s.cfg.MaxNoteBytes {
		return nil, fmt.Errorf("note is %d bytes long, over the store's %d", n, s.cfg.MaxNoteBytes)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	subject := s.subject(note.GetLocation())
	seq, err := s.publish(ctx, subject, []byte(note.GetMessage()))
	if err != nil {
		return nil, err
	}
	return s.readLocation(ctx, subject, seq, note)
}

// publish stores one message and returns its sequence once JetStream has
// acknowledged it. While the stream is briefly out of reach (a leader
// election, a reconnect) it tries again under the same message ID, which
// JetStream stores once however often it arrives.
func (s *JetStream) publish(ctx context.Context, subject string, data []byte) (uint64, error) {
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	id := nuid.Next()
	start := time.Now()
	for {
		if s.nc.IsClosed() {
			return 0, ErrClosed
		}
		if !s.nc.IsConnected() {
			// A replica that lost its server reconnects to another within
			// moments; one that lost them all should say so now.
			if time.Since(start) > reconnectGrace || wait(ctx, 50*time.Millisecond) != nil {
				return 0, fmt.Errorf("%w: not connected to NATS at %s", ErrUnavailable, redact(s.cfg.URLs))
			}
			continue
		}
		// Each attempt gets part of the time, so that one sent to a server
		// that just died is sent again to the one the client moved to.
		attempt, cancel := context.WithTimeout(ctx, attemptTimeout)
		ack, err := s.js.PublishMsg(attempt, msg, jetstream.WithMsgID(id), jetstream.WithExpectStream(s.cfg.Stream))
		cancel()
		if err == nil {
			return ack.Sequence, nil
		}
		if !isTransient(err) {
			return 0, fmt.Errorf("store note: %w", err)
		}
		if wait(ctx, 50*time.Millisecond) != nil {
			return 0, fmt.Errorf("%w: no acknowledgement from JetStream: %w", ErrUnavailable, err)
		}
	}
}

const (
	// reconnectGrace is how long storing a note waits for a lost
	// connection to come back before answering that the store is
	// unavailable.
	reconnectGrace = 2 * time.Second
	// attemptTimeout bounds one try at publishing a note.
	attemptTimeout = 2 * time.Second
)

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// readLocation returns the notes at subject up to and including sequence
// seq, which holds sent. Any replica of the stream may answer a direct
// get, and a follower may not have applied seq yet; then it asks again.
func (s *JetStream) readLocation(ctx context.Context, subject string, seq uint64, sent *routeguide.RouteNote) ([]*routeguide.RouteNote, error) {
	for {
		// Each attempt gets part of the time: an answer lost with a
		// connection never comes.
		attempt, cancel := context.WithTimeout(ctx, attemptTimeout)
		notes, last, later, err := s.tryReadLocation(attempt, subject, seq)
		cancel()
		switch {
		case err == nil && last == seq:
			return notes, nil
		case err == nil && later:
			// Later notes pushed the sent one out before it was read back.
			return append(notes, sent), nil
		}
		// A follower behind the leader, or a connection moving to another
		// server: ask again.
		if s.nc.IsClosed() {
			return nil, ErrClosed
		}
		if wait(ctx, 5*time.Millisecond) != nil {
			if err == nil {
				err = fmt.Errorf("note %d stored but not yet readable", seq)
			}
			return nil, fmt.Errorf("%w: read notes back: %w", ErrUnavailable, err)
		}
	}
}

// tryReadLocation reads the notes at subject up to seq, and tells the
// sequence of the last of them and whether a later note was there.
func (s *JetStream) tryReadLocation(ctx context.Context, subject string, seq uint64) (notes []*routeguide.RouteNote, last uint64, later bool, err error) {
	err = s.directGet(ctx, directRequest{NextBySubject: subject, Batch: s.cfg.Limits.MaxPerLocation}, func(m directMsg) bool {
		if m.seq > seq {
			later = true
			return false
		}
		note, err := s.decode(m.subject, m.data)
		if err != nil {
			return true
		}
		notes = append(notes, note)
		last = m.seq
		return true
	})
	return notes, last, later, err
}

// Watch follows the notes stored from now on, after replaying those
// opts.After asks for. It fails with [ErrUnavailable] while NATS is out of
// reach.
func (s *JetStream) Watch(ctx context.Context, opts WatchOptions) (*Watcher, error) {
	if s.nc.IsClosed() {
		return nil, ErrClosed
	}
	if !s.nc.IsConnected() {
		return nil, fmt.Errorf("%w: not connected to NATS", ErrUnavailable)
	}
	return s.feed.watch(ctx, opts, s.newest, s.replay)
}

// newest returns the sequence of the last note in the stream.
func (s *JetStream) newest(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	stream, err := s.js.Stream(ctx, s.cfg.Stream)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return stream.CachedInfo().State.LastSeq, nil
}

// replay reads the stored notes with sequence in (from, to].
func (s *JetStream) replay(ctx context.Context, from, to uint64) ([]Event, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var events []Event
	req := directRequest{Seq: from + 1, NextBySubject: s.cfg.Subject + ".>", Batch: int(to - from)}
	err := s.directGet(ctx, req, func(m directMsg) bool {
		if m.seq > to {
			return false
		}
		if note, err := s.decode(m.subject, m.data); err == nil {
			events = append(events, Event{Seq: m.seq, Time: m.time, Note: note})
		}
		return true
	})
	return events, err
}

// Stats describes the stream as its leader sees it, asking for at most a
// second; while NATS does not answer, it gives what it last learnt.
func (s *JetStream) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if !s.nc.IsConnected() {
		return s.stats
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	stream, err := s.js.Stream(ctx, s.cfg.Stream)
	if err != nil {
		return s.stats
	}
	st := stream.CachedInfo().State
	s.stats = Stats{Notes: int(st.Msgs), Locations: int(st.NumSubjects), Bytes: int64(st.Bytes)}
	return s.stats
}

// Available returns nil while the store can take notes, or why not.
func (s *JetStream) Available() error {
	if !s.nc.IsConnected() {
		return fmt.Errorf("%w: not connected to NATS at %s", ErrUnavailable, redact(s.cfg.URLs))
	}
	return nil
}

// Close stops following the stream, ends every watcher with [ErrClosed],
// and closes the connection.
func (s *JetStream) Close() error {
	s.consumeMu.Lock()
	if s.consume != nil {
		s.consume.Stop()
		<-s.consume.Closed()
		s.consume = nil
	}
	s.consumeMu.Unlock()
	s.feed.close(ErrClosed)
	s.nc.Close()
	return nil
}

// redact hides the passwords in a list of NATS URLs.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}
