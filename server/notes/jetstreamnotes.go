package notes

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/routeguide/routeguide/gen/routeguide"
)

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
