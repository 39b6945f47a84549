package server

import (
	"context"
	"net/netip"

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

type callerKey struct{}

// withCaller returns ctx carrying c.
func withCaller(ctx context.Context, c caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// callerOf returns the caller that the outer layers recorded in ctx, or an
// anonymous caller with no address.
func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
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
