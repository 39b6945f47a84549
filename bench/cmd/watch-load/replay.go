package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	notesv1 "github.com/routeguide/routeguide/bench/gen/routeguide/notes/v1"
)

// minWindow is the smallest flow-control window grpc-go's client lets one
// set, for a stream and for its connection (it ignores smaller values): a
// watcher that never reads takes at most this much of its replay before
// the rest waits on the server.
const minWindow = 65535

// replayResult is the memory of watchers that replay and never read.
type replayResult struct {
	server     string
	run        int // from 0
	watchers   int
	notes      int     // notes stored before the watchers opened
	perWatcher float64 // bytes of server RSS per watcher
}

// measureReplay posts notes notes to s, then opens watchers streams
// resuming from after_sequence=0 that never read, over connections whose
// windows are the least grpc-go allows, and returns the growth of the
// server's RSS per stream once it settles.
func measureReplay(ctx context.Context, s *server, watchers, notes, noteBytes int) (replayResult, error) {
	r := replayResult{server: s.name, watchers: watchers, notes: notes}
	conn, err := dial(s.addr)
	if err != nil {
		return r, err
	}
	defer conn.Close()
	p := &poster{client: notesv1.NewNotesServiceClient(conn), noteBytes: noteBytes}
	for range notes {
		if err := p.post(ctx); err != nil {
			return r, fmt.Errorf("PostNote: %w", err)
		}
	}
	before, err := s.settledRSS(ctx, 10*time.Second)
	if err != nil {
		return r, err
	}
	ws, clients, err := dialWatchers(ctx, s.addr, watchers, 0,
		grpc.WithStaticStreamWindowSize(minWindow), grpc.WithStaticConnWindowSize(minWindow))
	if err != nil {
		return r, err
	}
	defer ws.close()
	ctx, ws.cancel = context.WithCancel(ctx)
	after := uint64(0)
	err = forEachParallel(watchers, func(i int) error {
		stream, err := clients[i%len(clients)].WatchNotes(ctx, &notesv1.WatchNotesRequest{AfterSequence: &after})
		if err != nil {
			return err
		}
		if _, err := stream.Header(); err != nil {
			return err
		}
		// Never read: the stream's window fills and the rest of the replay
		// waits on the server. (So a server that cuts the stream off goes
		// unnoticed here; the settling RSS is what is measured.)
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("open replaying watchers: %w", err)
	}
	settled, err := s.settledRSS(ctx, 20*time.Second)
	if err != nil {
		return r, err
	}
	r.perWatcher = float64(settled-before) / float64(watchers)
	return r, nil
}
