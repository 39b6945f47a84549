package notes

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/routeguide/routeguide/gen/routeguide"
)

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

	replies *replies // the answers to direct gets

	consumeMu sync.Mutex // protects consume
	consume   jetstream.ConsumeContext

	skipped atomic.Uint64 // messages the feed found not to be notes
	// posters holds, by message ID, a channel for each note and deletion
	// this replica is storing, closed once its poster has the answer: the
	// feed hands such a message to the watchers only then (holdForPoster).
	posters sync.Map

	newestMu   sync.Mutex // protects the fields below
	nextNewest *newestAsk // the request for the last sequence not yet sent
	asking     bool       // whether askNewest runs
	// connected and closed follow the connection without taking its lock,
	// which the client holds for seconds while it reconnects: Available
	// must not wait.
	connected, closed atomic.Bool

	stateMu sync.Mutex // protects the fields below
	stats   Stats      // as the probe last learnt
	epoch   string     // of the stream followed
	downErr error      // why the probe finds the store unavailable, if it does

	stopProbe context.CancelFunc // called by Close
	probing   sync.WaitGroup
}

// OpenJetStream connects to NATS and creates the notes stream, or checks
// that the one there matches cfg; it refuses a stream that does not. It
// waits for NATS until ctx is done, so give it a deadline; it stops sooner
// if the NATS client gives up, as it does when a server refuses the same
// credentials twice. Once open, the store reconnects by itself whenever the
// connection is lost; while it is, its methods return errors wrapping
// [ErrUnavailable].
func OpenJetStream(ctx context.Context, cfg JetStreamConfig) (_ *JetStream, err error) {
	cfg = cfg.withDefaults()
	if cfg.URLs == "" {
		return nil, errors.New("open notes store: no NATS URL")
	}
	s := &JetStream{cfg: cfg, feed: newFeed(cfg.Limits.WatchBuffer, cfg.Limits.MaxReplay)}
	s.feed.recent.keep = cfg.Limits.MaxReplay // see recentEvents
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
		return nil, fmt.Errorf("open notes store: connect to NATS at %s: %w", RedactURLs(cfg.URLs), err)
	}
	defer func() {
		if err != nil {
			nc.Close()
		}
	}()
	s.nc = nc
	s.connected.Store(nc.IsConnected())
	if s.replies, err = newReplies(nc); err == nil {
		s.js, err = jetstream.New(nc)
	}
	if err != nil {
		return nil, fmt.Errorf("open notes store: %w", err)
	}
	info, err := s.ensureStream(ctx)
	if err != nil {
		return nil, err
	}
	// The feed starts with the next note stored; older ones are replayed on
	// request.
	s.feed.reset(info.State.LastSeq, nil)
	s.learn(info)
	if err = s.followWhenPlaced(ctx, info.State.LastSeq+1); err != nil {
		return nil, err
	}
	probing, stop := context.WithCancel(context.Background())
	s.stopProbe = stop
	s.probing.Go(func() { s.probe(probing) })
	return s, nil
}

// epochOf names the life of a stream: its creation time, the same on every
// NATS server, new when the stream is deleted and created again.
func epochOf(info *jetstream.StreamInfo) string {
	return "s" + strconv.FormatInt(info.Created.UnixNano(), 36)
}

// learn keeps what info says of the stream for Stats and Epoch.
func (s *JetStream) learn(info *jetstream.StreamInfo) {
	s.learnStats(info)
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.epoch = epochOf(info)
}

func (s *JetStream) learnStats(info *jetstream.StreamInfo) {
	st := info.State
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.stats = Stats{Notes: int(st.Msgs), Locations: int(st.NumSubjects), Bytes: int64(st.Bytes)}
}

// Epoch implements [Store]: the stream's creation time.
func (s *JetStream) Epoch() string {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	return s.epoch
}

// followWhenPlaced follows the stream, looking again while a stream that
// another replica has just created is not yet known to this one's NATS
// server, and while JetStream answers that it is briefly unavailable (503,
// as while a NATS node is down and the stream elects a leader: the nemesis
// saw a replica exit at start on it), until ctx is done.
func (s *JetStream) followWhenPlaced(ctx context.Context, from uint64) error {
	again := func(err error) bool { return errors.Is(err, jetstream.ErrStreamNotFound) || isTransient(err) }
	return retry(ctx, again, func() error {
		// Each attempt gets part of the time: one asked of a NATS server
		// that has just died, or not yet caught up after a restart, may
		// never be answered, and must not use up the whole of ctx.
		attempt, cancel := context.WithTimeout(ctx, followAttemptTimeout)
		defer cancel()
		return s.follow(attempt, from)
	})
}

// retry calls try until it succeeds or fails with an error that again
// does not accept, pausing 250 ms between tries, until ctx is done.
func retry(ctx context.Context, again func(error) bool, try func() error) error {
	for {
		err := try()
		if err == nil || !again(err) {
			return err
		}
		if done := wait(ctx, 250*time.Millisecond); done != nil {
			return fmt.Errorf("%w (gave up: %w)", err, done)
		}
	}
}

// followAttemptTimeout bounds one try at following the stream while the
// store opens.
const followAttemptTimeout = 5 * time.Second

// follow starts the one consumer of this replica that feeds its watchers:
// an ordered consumer, which the client recreates from where it stopped
// whenever it stalls, so notes reach the feed once each, in stream order.
func (s *JetStream) follow(ctx context.Context, from uint64) error {
	consumer, err := s.js.OrderedConsumer(ctx, s.cfg.Stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   from,
	})
	var consume jetstream.ConsumeContext
	if err == nil {
		consume, err = consumer.Consume(s.deliver,
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
	}
	if err != nil {
		return fmt.Errorf("open notes store: follow stream %s: %w", s.cfg.Stream, err)
	}
	s.consumeMu.Lock()
	s.consume = consume
	s.consumeMu.Unlock()
	return nil
}

// stopFollowing stops the consumer that feeds the watchers, if one runs.
func (s *JetStream) stopFollowing() {
	s.consumeMu.Lock()
	defer s.consumeMu.Unlock()
	if s.consume != nil {
		s.consume.Stop()
		<-s.consume.Closed()
		s.consume = nil
	}
}

// deliver hands one message of the ordered consumer to the feed; the
// consumer calls it for one message at a time, in order. A message that
// is not a note is skipped and counted, once per replica, whoever watches.
func (s *JetStream) deliver(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		return
	}
	s.fillGap(meta.Sequence.Stream)
	ev, err := s.decode(&jetstream.RawStreamMsg{Subject: msg.Subject(), Sequence: meta.Sequence.Stream, Header: msg.Headers(), Data: msg.Data(), Time: meta.Timestamp})
	if err != nil {
		// Log the 1st, 2nd, 4th, 8th… so that a flood of them costs a
		// few lines, not one each.
		if n := s.skipped.Add(1); n&(n-1) == 0 {
			s.cfg.Logger.Warn("notes feed: skipping a message that is not a note",
				"sequence", meta.Sequence.Stream, "error", err, "skipped", n)
		}
		s.feed.skip(meta.Sequence.Stream)
		return
	}
	s.holdForPoster(msg.Headers().Get(jetstream.MsgIDHeader))
	s.feed.publish(ev)
}

// posting marks the message with ID id as being stored by this replica
// until the returned function is called, once its poster has the answer.
// A second post of the same ID, a client's retry, is held by the first's.
func (s *JetStream) posting(id string) (answered func()) {
	done, loaded := s.posters.LoadOrStore(id, make(chan struct{}))
	if loaded {
		return func() {}
	}
	return func() {
		s.posters.Delete(id)
		close(done.(chan struct{}))
	}
}

// holdForPoster waits, at most ownNoteWait, until the poster on this
// replica of the message with ID id, if there is one, has its answer. The
// message and the answers the poster waits for (JetStream's acknowledgement,
// then the notes at its location) come from NATS at about the same moment,
// but the runtime reads the socket they are on only when the core has
// nothing else to run, or every 10 ms: a fan-out started first kept the
// poster waiting for all of it (PostNote's p50 with 1,000 watchers was 8.8
// times its value with none). Held until then, the fan-out steps aside for
// the poster's answer to be written, as in a memory store.
func (s *JetStream) holdForPoster(id string) {
	if id == "" {
		return
	}
	v, ok := s.posters.Load(id)
	if !ok {
		return
	}
	t := time.NewTimer(ownNoteWait)
	defer t.Stop()
	select {
	case <-v.(chan struct{}):
	case <-t.C:
	}
}

// ownNoteWait bounds how long the feed holds a note of this replica for
// its poster: an acknowledgement lost in a fault must not hold every
// watcher for longer than this.
const ownNoteWait = 100 * time.Millisecond

func (s *JetStream) disconnected(nc *nats.Conn, err error) {
	s.connected.Store(false)
	if s.closed.Load() {
		return // Close ends the watchers itself
	}
	s.cfg.Logger.Warn("notes store: lost the connection to NATS; reconnecting", "error", err)
	s.feed.cutAll(fmt.Errorf("%w: lost the connection to NATS", ErrUnavailable))
}

func (s *JetStream) reconnected(nc *nats.Conn) {
	s.connected.Store(true)
	s.cfg.Logger.Info("notes store: reconnected to NATS", "server", nc.ConnectedUrlRedacted())
}

// subject is where the notes at p are stored.
func (s *JetStream) subject(p *routeguide.Point) string {
	return s.cfg.Subject + "." + locationText(p)
}

// Stats describes the stream as its leader sees it, asking for at most a
// second; while NATS does not answer, it gives what the store last learnt.
// The deletion markers count among the notes, and their subject among the
// locations.
func (s *JetStream) Stats() Stats {
	if s.Available() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if stream, err := s.js.Stream(ctx, s.cfg.Stream); err == nil {
			s.learnStats(stream.CachedInfo())
		}
		cancel()
	}
	s.stateMu.Lock()
	st := s.stats
	s.stateMu.Unlock()
	st.Skipped = s.skipped.Load()
	return st
}

// Available returns nil while the store can take notes, or why not: not
// connected to NATS, or NATS not answering the probe.
func (s *JetStream) Available() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if !s.connected.Load() {
		return fmt.Errorf("%w: not connected to NATS at %s", ErrUnavailable, RedactURLs(s.cfg.URLs))
	}
	return s.down()
}

// down returns why the probe last found the store unavailable, or nil.
func (s *JetStream) down() error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	return s.downErr
}

// Close stops following the stream, ends every watcher with [ErrClosed],
// and closes the connection.
func (s *JetStream) Close() error {
	s.closed.Store(true)
	s.stopProbe()
	s.probing.Wait()
	s.stopFollowing()
	s.feed.close(ErrClosed)
	s.nc.Close()
	return nil
}

// Conn returns the store's NATS connection, for other state the replicas
// share on the same JetStream, such as write budgets. The store keeps it
// and closes it with [JetStream.Close].
func (s *JetStream) Conn() *nats.Conn {
	return s.nc
}

// Replicas returns how many NATS servers hold each note, so that other
// state the replicas share can survive the same losses.
func (s *JetStream) Replicas() int {
	return s.cfg.Replicas
}

// RedactURLs hides the passwords and tokens in a comma-separated list of NATS URLs,
// for logs and errors.
func RedactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.User == nil {
			continue
		}
		if _, ok := u.User.Password(); !ok {
			// NATS reads a user without a password as a token.
			u.User = url.User("xxxxx")
		}
		parts[i] = u.Redacted()
	}
	return strings.Join(parts, ",")
}
