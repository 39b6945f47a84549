package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/connect/v2/connectproto"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/server/budget"
	"github.com/routeguide/routeguide/server/identity"
	"github.com/routeguide/routeguide/server/notes"
	"github.com/routeguide/routeguide/server/observe"
	"github.com/routeguide/routeguide/server/transport"
)

// Writes says who may write notes (PostNote and RouteChat).
type Writes int

const (
	// WritesAnyone lets every caller write, signed in or not: the default,
	// so that the tutorial's clients work unchanged.
	WritesAnyone Writes = iota
	// WritesSignedIn lets only callers with a valid bearer token write.
	WritesSignedIn
)

// isWrite reports whether procedure changes the notes: every such call is
// charged to its caller's budget, and needs a token under WritesSignedIn.
// The table of procedures asks once, as the server is built
// ([transport.Procedure.Writes]); calls read the answer from there.
func isWrite(procedure string) bool {
	switch procedure {
	case routeguideconnect.RouteGuideRouteChatProcedure,
		notesv1connect.NotesServicePostNoteProcedure,
		notesv1connect.NotesServiceDeleteNoteProcedure:
		return true
	}
	return false
}

// callers is the transport's gate ([transport.Gate]): it verifies the
// bearer token of a call that needs a verified identity, before any of its
// body is read, and refuses the call when the token is bad. A read does no
// identity work unless it sends a token; a token sent is always verified,
// and a bad one refused, so that a caller learns its token is bad before
// it relies on it for a write. The client's address is worked out only by
// the calls that count by it ([routeGuide.callerOf]).
type callers struct {
	verifier *identity.Verifier // not nil: without one there is no gate
	writes   Writes
	errors   *connecthttp.ErrorWriter
	metrics  *observe.Metrics
}

func (h *callers) admit(w http.ResponseWriter, r *http.Request, call *transport.Call) *http.Request {
	if !h.mustVerify(r, call) {
		return r
	}
	id, err := h.verifier.Verify(r.Context(), r.Header)
	if err != nil {
		h.refuse(w, r, err)
		return nil
	}
	return r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
}

// mustVerify reports whether call needs a verified identity: it sends a
// token, or it deletes a note, or it writes one where only signed-in
// callers may.
func (h *callers) mustVerify(r *http.Request, call *transport.Call) bool {
	if _, sent := r.Header["Authorization"]; sent {
		return true
	}
	return call.Writes && (h.writes == WritesSignedIn || call.Procedure == notesv1connect.NotesServiceDeleteNoteProcedure)
}

// refuse answers a call whose token was refused, in its own protocol,
// without reading its body. Refusals are the caller's doing: counted, not
// logged as errors.
func (h *callers) refuse(w http.ResponseWriter, r *http.Request, err error) {
	code, reason := connect.CodeUnauthenticated, "unknown"
	var refused *identity.Error
	if errors.As(err, &refused) {
		code, reason = connect.Code(refused.Reason.Code()), refused.Reason.String()
	}
	h.metrics.AuthRefused(reason)
	cerr := connect.NewError(code, err.Error())
	if !h.errors.IsSupported(r) {
		// No RPC protocol: a plain answer, as for any other bad request.
		http.Error(w, cerr.Error(), http.StatusUnauthorized)
		return
	}
	transport.WriteError(h.errors, w, r, cerr)
}

// caller is who makes a call, as far as the server knows: the identity of
// a verified bearer token, when one was sent, and the client's address,
// taken from a trusted proxy's word where there is one. Write budgets and
// watch caps both count by it, so that one client is one client to both.
type caller struct {
	identity *identity.Identity // nil for an anonymous caller
	addr     netip.Addr
}

type identityKey struct{}

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

// A WriteBudget charges each write to its client, and says whether the
// client may make it. [budget.Local] and [budget.Shared] are two.
type WriteBudget interface {
	Allow(ctx context.Context, key budget.Key) budget.Decision
}

// chargeWrite charges one write to who, or returns the error that refuses
// it.
func (g *routeGuide) chargeWrite(ctx context.Context, who caller) error {
	if g.budget == nil {
		return nil
	}
	d := g.budget.Allow(ctx, who.key())
	if d.Unshared {
		g.metrics.BudgetUnshared(d.Allowed)
	}
	if d.Allowed {
		return nil
	}
	// Whole seconds, rounded up: a client that waits as long as it is told
	// is never refused again for the same reason.
	wait := (d.RetryAfter + time.Second - 1).Truncate(time.Second)
	var err *connect.Error
	if d.Crowded {
		// Not the budget: its count could not keep up, as while NATS
		// does not answer, and saying the budget is spent would mislead.
		g.metrics.WriteRefused("crowded")
		err = connect.NewError(connect.CodeResourceExhausted, fmt.Sprintf(
			"this client's writes came faster than this replica could count them against its budget: try again in %v", wait))
	} else {
		g.metrics.WriteRefused("over_budget")
		err = connect.NewError(connect.CodeResourceExhausted, fmt.Sprintf(
			"this client has written its budget of notes: try again in %v (each client may write a few notes at once, then a steady few a minute)", wait))
	}
	if detail, derr := connectproto.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)}); derr == nil {
		err = err.WithDetail(detail)
	}
	return err
}
