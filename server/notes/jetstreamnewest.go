package notes

import (
	"context"
	"fmt"
)

// newestAsk is one request for the stream's last sequence, which every
// watch that starts before it is sent shares.
type newestAsk struct {
	done chan struct{} // closed once seq and err are set
	seq  uint64
	err  error
}

// newest returns the sequence of the last message in the stream, as of a
// moment after the call began. Watches that start together share one
// request to NATS: each page that opens a map starts a watch, and a
// stream's information is among the dearer requests its leader answers,
// so a burst of them costs one request in flight and one waiting, however
// many watches start. The request runs on a goroutine of its own, so that
// the deep stack nats.go's requests need does not stay with a watch's
// handler (see onOwnStack).
func (s *JetStream) newest(ctx context.Context) (uint64, error) {
	s.newestMu.Lock()
	ask := s.nextNewest
	if ask == nil {
		ask = &newestAsk{done: make(chan struct{})}
		s.nextNewest = ask
		if !s.asking {
			s.asking = true
			go s.askNewest()
		}
	}
	s.newestMu.Unlock()
	select {
	case <-ask.done:
		return ask.seq, ask.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// askNewest sends the waiting request, then the one that began to wait
// meanwhile, until none waits. Each is sent after every watch sharing it
// began, so none learns a last sequence older than its start.
func (s *JetStream) askNewest() {
	for {
		s.newestMu.Lock()
		ask := s.nextNewest
		s.nextNewest = nil
		if ask == nil {
			s.asking = false
			s.newestMu.Unlock()
			return
		}
		s.newestMu.Unlock()
		ask.seq, ask.err = s.lastSequence()
		close(ask.done)
	}
}

// lastSequence asks the stream's leader for its last sequence.
func (s *JetStream) lastSequence() (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	stream, err := s.js.Stream(ctx, s.cfg.Stream)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return stream.CachedInfo().State.LastSeq, nil
}
