package server

import (
	"errors"
	"net/http"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/server/clientaddr"
	"github.com/routeguide/routeguide/server/identity"
	"github.com/routeguide/routeguide/server/observe"
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
func isWrite(procedure string) bool {
	switch procedure {
	case routeguideconnect.RouteGuideRouteChatProcedure,
		notesv1connect.NotesServicePostNoteProcedure,
		notesv1connect.NotesServiceDeleteNoteProcedure:
		return true
	}
	return false
}

// callers is the outer layer that records who makes each call ([caller]),
// before any of its body is read: the client's address, in a trusted
// proxy's word where there is one, and the identity of its bearer token.
// A read does no identity work unless it sends a token; a token sent is
// always verified, and a bad one refused, so that a caller learns its
// token is bad before it relies on it for a write.
type callers struct {
	next     http.Handler
	trusted  *clientaddr.Trusted // nil trusts no proxy
	verifier *identity.Verifier  // nil: no identity, every caller anonymous
	writes   Writes
	errors   *connecthttp.ErrorWriter
	metrics  *observe.Metrics
}

func (h *callers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := caller{addr: h.trusted.ClientAddr(r.RemoteAddr, r.Header)}
	if h.verifier != nil && h.mustVerify(r) {
		id, err := h.verifier.Verify(r.Context(), r.Header)
		if err != nil {
			h.refuse(w, r, err)
			return
		}
		c.identity = id
	}
	h.next.ServeHTTP(w, r.WithContext(withCaller(r.Context(), c)))
}

// mustVerify reports whether r needs a verified identity: it sends a
// token, or it deletes a note, or it writes one where only signed-in
// callers may.
func (h *callers) mustVerify(r *http.Request) bool {
	if _, sent := r.Header["Authorization"]; sent {
		return true
	}
	procedure := r.URL.Path
	if procedure == notesv1connect.NotesServiceDeleteNoteProcedure {
		return true
	}
	return h.writes == WritesSignedIn && isWrite(procedure)
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
	_ = h.errors.Write(w, r, cerr)
}
