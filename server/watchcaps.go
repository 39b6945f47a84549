package server

import (
	"context"
	"errors"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/server/notes"
)

// admitWatch counts one more WatchNotes stream against the caller's cap
// (its author ID when signed in, otherwise its address, as the write
// budgets count it) and the replica's, and returns it admitted; the caller
// must release it once the stream ends. Past either cap it returns
// resource_exhausted naming the cap, so that a client knows whether to
// close a watch of its own or go to another replica.
func (g *routeGuide) admitWatch(ctx context.Context) (notes.Admitted, error) {
	admitted, err := g.watches.Acquire(g.callerOf(ctx).key().String())
	if errors.Is(err, notes.ErrTooManyWatches) {
		return notes.Admitted{}, connect.Errorf(connect.CodeResourceExhausted,
			"%v: close a watch you no longer need (one watch of the whole world serves a page), or try another replica", err).WithCause(err)
	}
	return admitted, err
}
