package server

import (
	"context"
	"net/netip"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/server/budget"
	"github.com/routeguide/routeguide/server/identity"
	"github.com/routeguide/routeguide/server/notes"
)

// caller is who makes a call, as far as the server knows: the identity of
// a verified bearer token, when one was sent, and the client's address,
// taken from a trusted proxy's word where there is one. Write budgets and
// watch caps both count by it, so that one client is one client to both.
type caller struct {
	identity *identity.Identity // nil for an anonymous caller
	addr     netip.Addr
}

type identityKey struct{}

// withIdentity returns ctx carrying id, which the gate verified.
func withIdentity(ctx context.Context, id *identity.Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// identityOf returns the identity the gate verified for the call of ctx,
// or nil for an anonymous caller.
func identityOf(ctx context.Context) *identity.Identity {
	id, _ := ctx.Value(identityKey{}).(*identity.Identity)
	return id
}

// callerOf returns who makes the call of ctx. Only the calls that count
// their callers ask, once a call: the client's address is worked out here,
// not for every call.
func (g *routeGuide) callerOf(ctx context.Context) caller {
	c := caller{identity: identityOf(ctx)}
	if info, ok := connect.CallInfoForServerContext(ctx); ok {
		c.addr = g.trusted.ClientAddr(info.PeerAddr, info.RequestHeader())
	}
	return c
}

// key is what the caller's budgets are counted by: its author ID when
// signed in, otherwise its address (an IPv6 address by its /64).
func (c caller) key() budget.Key {
	var author string
	if c.identity != nil {
		author = c.identity.AuthorID
	}
	return budget.KeyFor(author, c.addr)
}

// author is who a note the caller posts is by: anonymous unless signed in.
func (c caller) author() notes.Author {
	if c.identity == nil {
		return notes.Author{}
	}
	return notes.Author{ID: c.identity.AuthorID, Name: c.identity.Name}
}
