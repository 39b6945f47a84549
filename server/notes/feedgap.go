package notes

import (
	"context"
	"fmt"
)

// maxGapFill is the longest run of sequences the feed reads back from the
// store when its consumer skips them; a longer one cuts the watchers off
// instead, to resume by replay.
const maxGapFill = 1000

// fillGap is called with the sequence of the message the consumer hands
// the feed next. Messages deleted from the stream before the consumer
// reached them leave gaps, and so would a consumer that skipped some (the
// nemesis saw a live feed jump 7 notes while a NATS node was stopped): so
// the feed reads what the stream holds in the gap, from its leader, and
// publishes it first. If it cannot, it cuts every watcher off with
// [ErrUnavailable] and the sequence to resume from, so that none goes on
// without the notes it missed.
func (s *JetStream) fillGap(seq uint64) {
	last := s.feed.lastAccepted()
	if seq <= last+1 {
		return
	}
	if seq-1-last > maxGapFill {
		s.gapCut(last, seq, fmt.Errorf("%d sequences", seq-1-last))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
	defer cancel()
	// One batch of the whole gap: it is at most maxGapFill long.
	events, _, err := s.replayFromStream(ctx, last, seq-1, maxGapFill)
	if err != nil {
		s.gapCut(last, seq, err)
		return
	}
	if len(events) > 0 {
		s.cfg.Logger.Warn("notes feed: the consumer skipped notes; read them from the stream",
			"after", last, "before", seq, "notes", len(events))
	}
	for _, ev := range events {
		s.feed.publish(ev)
	}
}

// gapCut cuts every watcher off for a gap (last, seq) the feed could not
// fill.
func (s *JetStream) gapCut(last, seq uint64, why error) {
	s.cfg.Logger.Warn("notes feed: the consumer skipped notes it could not read back; watchers resume by replay",
		"after", last, "before", seq, "error", why)
	s.feed.forgetRecent(seq - 1)
	s.feed.cutAll(fmt.Errorf("%w: the feed skipped notes after sequence %d: %w", ErrUnavailable, last, why))
}
