package notes

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// Add stores note once JetStream acknowledges it, its author in the
// message's headers, and returns every note stored at its location up to
// and including it, in stream order. While the store is unavailable it
// fails at once: publish asks first.
func (s *JetStream) Add(ctx context.Context, note *routeguide.RouteNote, author Author) ([]Note, error) {
	if n := len(note.GetMessage()); n > s.cfg.Limits.MaxNoteBytes {
		return nil, fmt.Errorf("note is %d bytes long, over the store's %d", n, s.cfg.Limits.MaxNoteBytes)
	}
	if !utf8.ValidString(note.GetMessage()) {
		return nil, errors.New("note is not UTF-8 text")
	}
	author, err := author.checked()
	if err != nil {
		return nil, fmt.Errorf("store note: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	subject := s.subject(note.GetLocation())
	msg := &nats.Msg{Subject: subject, Data: []byte(note.GetMessage()), Header: nats.Header{}}
	setAuthor(msg.Header, author)
	id := messageID(ctx, note, author)
	// The feed holds the note until its poster has the answer, read
	// below from the stream too.
	answered := s.posting(id)
	defer answered()
	seq, err := s.publish(ctx, msg, id)
	if err != nil {
		return nil, err
	}
	sent := Note{Seq: seq, Time: time.Now(), Note: &routeguide.RouteNote{Location: note.GetLocation(), Message: note.GetMessage()}, Author: author}
	return s.readLocation(ctx, subject, sent)
}

// publish stores msg and returns its sequence once JetStream has
// acknowledged it. While the stream is briefly out of reach (a leader
// election, a reconnect) it tries again under the same message ID, which
// JetStream stores once however often it arrives.
func (s *JetStream) publish(ctx context.Context, msg *nats.Msg, id string) (uint64, error) {
	start := time.Now()
	for {
		if s.closed.Load() {
			return 0, ErrClosed
		}
		if err := s.down(); err != nil {
			return 0, err
		}
		if !s.connected.Load() {
			// A replica that lost its server reconnects to another within
			// moments; one that lost them all should say so now.
			if time.Since(start) > reconnectGrace || wait(ctx, 50*time.Millisecond) != nil {
				return 0, fmt.Errorf("%w: not connected to NATS at %s", ErrUnavailable, RedactURLs(s.cfg.URLs))
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

// readLocation returns the notes at subject up to and including sent,
// stored at sent.Seq. Any replica of the stream may answer a direct get,
// and a follower may not have applied it yet; then it asks again. It skips
// messages that are not notes.
func (s *JetStream) readLocation(ctx context.Context, subject string, sent Note) ([]Note, error) {
	req := directRequest{Seq: 1, NextBySubject: subject, Batch: s.cfg.Limits.MaxNotesPerLocation}
	for {
		var notes []Note
		later := false // whether a note later than sent was there
		// Each attempt gets part of the time: an answer lost with a
		// connection never comes.
		attempt, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := s.directGet(attempt, req, func(m *jetstream.RawStreamMsg) bool {
			if later = m.Sequence > sent.Seq; !later {
				if ev, err := s.decode(m); err == nil && ev.Deleted == 0 {
					notes = append(notes, Note{Seq: ev.Seq, Time: ev.Time, Note: ev.Note, Author: ev.Author})
				}
			}
			return !later
		})
		cancel()
		switch {
		case err == nil && len(notes) > 0 && notes[len(notes)-1].Seq == sent.Seq:
			return notes, nil
		case err == nil && later:
			// Later notes pushed the sent one out, or a moderator deleted
			// it, before it was read back.
			return append(notes, sent), nil
		}
		// A follower behind the leader, or a connection moving to another
		// server: ask again.
		if s.closed.Load() {
			return nil, ErrClosed
		}
		if wait(ctx, 5*time.Millisecond) != nil {
			if err == nil {
				err = fmt.Errorf("note %d stored but not yet readable", sent.Seq)
			}
			return nil, fmt.Errorf("%w: read notes back: %w", ErrUnavailable, err)
		}
	}
}

// Delete removes the note with sequence seq from the stream, erasing its
// text, then publishes a deletion marker that every replica's feed
// carries to its watchers. Deleting first means a failure leaves the note
// gone but not announced, rather than announced but there.
func (s *JetStream) Delete(ctx context.Context, seq uint64) (Note, error) {
	if err := s.down(); err != nil {
		return Note{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	// Read from the stream's leader, which has every note it acknowledged.
	m, err := s.leaderNext(ctx, seq)
	if err != nil {
		return Note{}, fmt.Errorf("delete note %d: %w", seq, err)
	}
	var found *Note
	if m != nil && m.Sequence == seq {
		if ev, err := s.decode(m); err == nil && ev.Deleted == 0 {
			found = &Note{Seq: ev.Seq, Time: ev.Time, Note: ev.Note, Author: ev.Author}
		}
	}
	if found == nil {
		return Note{}, fmt.Errorf("%w with sequence %d", ErrNotFound, seq)
	}
	stream, err := s.js.Stream(ctx, s.cfg.Stream)
	if err == nil {
		err = stream.SecureDeleteMsg(ctx, seq)
	}
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return Note{}, fmt.Errorf("%w with sequence %d", ErrNotFound, seq) // deleted meanwhile
	case err != nil && isTransient(err):
		return Note{}, fmt.Errorf("%w: delete note %d: %w", ErrUnavailable, seq, err)
	case err != nil:
		return Note{}, fmt.Errorf("delete note %d: %w", seq, err)
	}
	marker := &nats.Msg{Subject: s.deletedSubject(), Header: nats.Header{}}
	marker.Header.Set(deletedHeader, strconv.FormatUint(seq, 10))
	marker.Header.Set(locationHeader, locationText(found.Note.GetLocation()))
	id := "deleted-" + s.Epoch() + "-" + strconv.FormatUint(seq, 10)
	answered := s.posting(id)
	defer answered()
	if _, err := s.publish(ctx, marker, id); err != nil {
		return *found, fmt.Errorf("note %d deleted, but its watchers may not learn it: %w", seq, err)
	}
	return *found, nil
}

// Watch follows the events stored from now on, after replaying those
// opts.After asks for. It fails with [ErrUnavailable] while NATS is out of
// reach.
func (s *JetStream) Watch(ctx context.Context, opts WatchOptions) (*Watcher, error) {
	if err := s.Available(); err != nil {
		return nil, err
	}
	return s.feed.watch(ctx, opts, s.Epoch(), s.newest, s.replay)
}

// onOwnStack runs f on a goroutine of its own and returns what it returns.
// A watch reads its replay from NATS on its handler's goroutine, and
// nats.go's requests need more than 8 KiB of stack: grown there, the
// handler's stack would stay at 16 KiB for as long as the watch is open,
// since Go halves a stack only when less than a quarter of it is in use.
// On a goroutine of its own, the deep stack ends with the request: an idle
// watcher of a JetStream store costs what one of a memory store does.
func onOwnStack[T any](f func() (T, error)) (T, error) {
	type result struct {
		value T
		err   error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	r := <-done
	return r.value, r.err
}

// replay reads at most limit messages with sequence in (from, to], and
// returns the events among them: what is not a note or a deletion is
// skipped. The feed's recent events answer it if they hold them all (see
// recentEvents); otherwise the stream does. The batch comes from whichever server answers a direct get,
// which may be a follower that has not yet applied the last of them; so
// when the batch ends short of limit, the stream's leader is asked whether
// anything up to to is left, and what is, is read from it. A replay is
// never silently shorter than the stream.
func (s *JetStream) replay(ctx context.Context, from, to uint64, limit int) ([]Event, uint64, error) {
	if events, upTo, ok := s.feed.replayRecent(from, to, limit); ok {
		return events, upTo, nil
	}
	return s.replayFromStream(ctx, from, to, limit)
}

// replayFromStream is replay, read from the stream: for what the feed's
// recent events do not hold, and for the gaps the feed fills.
func (s *JetStream) replayFromStream(ctx context.Context, from, to uint64, limit int) ([]Event, uint64, error) {
	type batch struct {
		events []Event
		last   uint64
	}
	b, err := onOwnStack(func() (batch, error) {
		events, last, err := s.readBatch(ctx, from, to, limit)
		return batch{events, last}, err
	})
	return b.events, b.last, err
}

// readBatch is replay's work, done on a goroutine of its own.
func (s *JetStream) readBatch(ctx context.Context, from, to uint64, limit int) ([]Event, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var events []Event
	batch := int(min(uint64(limit), to-from))
	read, last := 0, from
	take := func(m *jetstream.RawStreamMsg) bool {
		if m.Sequence > to || m.Sequence <= last {
			return false
		}
		if ev, err := s.decode(m); err == nil {
			events = append(events, ev)
		}
		read++
		last = m.Sequence
		return read < batch
	}
	req := directRequest{Seq: from + 1, NextBySubject: s.cfg.Subject + ".>", Batch: batch}
	if err := s.directGet(ctx, req, take); err != nil {
		return nil, from, err
	}
	for read < batch {
		m, err := s.leaderNext(ctx, last+1)
		if err != nil {
			return nil, from, err
		}
		if m == nil || m.Sequence > to {
			return events, to, nil // nothing is left up to to
		}
		take(m)
	}
	return events, last, nil // the batch is full: more may follow
}
