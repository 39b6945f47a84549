package notes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// probe asks NATS, every ProbeInterval until Close, whether it answers and
// whether the stream is still the one the store follows, so that a NATS
// that stops answering without closing the connection (a stopped process,
// a partition) is noticed within ProbeInterval+2×ProbeTimeout (4 s by
// default) rather than at the client's next ping, minutes later.
func (s *JetStream) probe(ctx context.Context) {
	t := time.NewTicker(s.cfg.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.check()
		}
	}
}

// check probes once and acts on what it learns.
func (s *JetStream) check() {
	// While the client reconnects, Available says so already.
	if !s.connected.Load() || !s.answers() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ProbeTimeout)
	defer cancel()
	want := s.cfg.streamConfig()
	stream, err := s.js.Stream(ctx, s.cfg.Stream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		s.cfg.Logger.Warn("notes store: the stream is gone; creating it again", "stream", s.cfg.Stream)
		info, err := s.tryEnsureStream(ctx, want)
		if err != nil {
			s.setDown(fmt.Errorf("%w: stream %s was deleted, and creating it again failed: %w", ErrUnavailable, s.cfg.Stream, err))
			return
		}
		s.restartFeed(info)
		return
	case err != nil:
		// The stream may be electing a leader, which Add rides out by
		// itself; or NATS stopped answering since the round trip above.
		s.answers()
		return
	default:
		info := stream.CachedInfo()
		if diffs := conflicts(info.Config, want); len(diffs) > 0 {
			s.setDown(fmt.Errorf("%w: stream %s was changed under the server: %s; change it back or restart with matching flags",
				ErrUnavailable, s.cfg.Stream, strings.Join(diffs, "; ")))
			return
		}
		if epochOf(info) != s.Epoch() {
			s.cfg.Logger.Warn("notes store: the stream was created again; following the new one", "stream", s.cfg.Stream)
			s.restartFeed(info)
			return
		}
		s.learn(info)
	}
	s.setDown(nil)
}

// answers makes a round trip to the NATS server, and marks the store
// unavailable if it gets no answer: that fails only when the server does
// not answer at all, not while a stream elects a leader.
func (s *JetStream) answers() bool {
	err := s.nc.FlushTimeout(s.cfg.ProbeTimeout)
	if err == nil {
		return true
	}
	s.setDown(fmt.Errorf("%w: NATS at %s did not answer within %v: %w",
		ErrUnavailable, RedactURLs(s.cfg.URLs), s.cfg.ProbeTimeout, err))
	// Another server of the cluster may answer: move to it. Alone, stay:
	// the connection goes on as it was once the server answers again,
	// where a new one would take seconds.
	if len(s.nc.Servers()) > 1 {
		s.nc.ForceReconnect()
	}
	return false
}

// setDown marks the store unavailable for err, cutting its watchers off
// the first time: they resume once it is back. A nil err marks it
// available again.
func (s *JetStream) setDown(err error) {
	s.stateMu.Lock()
	was := s.downErr
	s.downErr = err
	s.stateMu.Unlock()
	switch {
	case was == nil && err != nil:
		s.cfg.Logger.Warn("notes store unavailable", "error", err)
		s.feed.cutAll(err)
	case was != nil && err == nil:
		s.cfg.Logger.Info("notes store available again")
	}
}

// restartFeed follows a stream that began again from its current end: the
// watchers of the old one are cut off, and their resumes refused as stale.
// It learns the new epoch first, so that no resume from the old life slips
// in before the feed starts over.
func (s *JetStream) restartFeed(info *jetstream.StreamInfo) {
	s.stopFollowing()
	s.learn(info)
	s.feed.reset(info.State.LastSeq, fmt.Errorf("%w: the notes stream began again", ErrUnavailable))
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	if err := s.follow(ctx, info.State.LastSeq+1); err != nil {
		s.setDown(fmt.Errorf("%w: %w", ErrUnavailable, err))
		// Forget the new epoch: the next probe finds the stream new again,
		// and tries again, rather than serve a feed that follows nothing.
		s.stateMu.Lock()
		s.epoch = ""
		s.stateMu.Unlock()
		return
	}
	s.setDown(nil)
}
