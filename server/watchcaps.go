package server

import (
	"context"
	"errors"
	"net/netip"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/server/notes"
)

// admitWatch counts one more WatchNotes stream against the caller's cap
// and the replica's, and returns the function that gives it back, which
// the caller must call once the stream ends. Past either cap it returns
// resource_exhausted naming the cap, so that a client knows whether to
// close a watch of its own or go to another replica.
func (g *routeGuide) admitWatch(ctx context.Context) (release func(), err error) {
	release, err = g.watches.Acquire(watchClient(ctx))
	if errors.Is(err, notes.ErrTooManyWatches) {
		return nil, connect.Errorf(connect.CodeResourceExhausted,
			"%v: close a watch you no longer need (one watch of the whole world serves a page), or try another replica", err).WithCause(err)
	}
	return release, err
}

// watchClient is who a watch counts against: the caller's author ID when
// signed in, otherwise its address, as the write budgets count it.
func watchClient(ctx context.Context) string {
	c := callerOf(ctx)
	if c.identity == nil && !c.addr.IsValid() {
		c.addr = peerAddr(ctx)
	}
	return c.key().String()
}

// peerAddr is the address of the connection's peer, for a caller the outer
// layers have not recorded. It stands in only until the middleware that
// records every caller (with a trusted proxy's word for the address) is in
// the request path; then it goes.
func peerAddr(ctx context.Context) netip.Addr {
	info, ok := connect.CallInfoForServerContext(ctx)
	if !ok {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(info.PeerAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
