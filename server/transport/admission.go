package transport

import (
	"errors"
	"fmt"
	"net/http"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/server/grpcwebtext"
	"github.com/routeguide/routeguide/server/observe"
)

// A Gate lets a call of a procedure in, or answers it itself: it returns
// the request to serve the call with, carrying in its context whatever the
// gate learnt, or nil once it has answered w. The stack asks it after its
// own checks, before any of the request's body is read.
type Gate func(w http.ResponseWriter, r *http.Request, call *Call) *http.Request

// Served is what [Stack.Handler] serves, and how it answers what it refuses.
type Served struct {
	// Procedures are the procedures served, their handlers mounted through
	// [Procedures.Mux].
	Procedures Procedures
	// Fallback serves every request that is no call of a procedure: the
	// browser page, and connect-go's own answers.
	Fallback http.Handler
	// Errors answers refused calls in their callers' protocols; build it
	// from the options the procedures were mounted with.
	Errors *connecthttp.ErrorWriter
	// Refusals records the calls refused; nil records none.
	Refusals *observe.Refusals
	// Gate, if set, lets in or answers each call the stack's own checks
	// let in. By default every such call goes in.
	Gate Gate
}

// supportedEncodings are the request compressions the server reads.
const supportedEncodings = "gzip"

// errBidiNeedsHTTP2 is the answer to a bidirectional stream over HTTP/1.x.
// connect-go answers those with a bare 505 status, which most clients can
// only report as unknown, leaving the caller to guess why.
const errBidiNeedsHTTP2 = ("this method is a bidirectional stream, which needs HTTP/2: " +
	"call it over HTTP/2, without TLS (h2c, prior knowledge) or with TLS; HTTP/1.1 cannot carry it")

// admission is the layer that lets into connect-go the calls it can serve:
// it translates gRPC-Web's text form, which connect-go does not speak;
// answers, in their callers' protocols, what connect-go would refuse with a
// bare status or a code that blames the server (mistakes.go, requests.go);
// asks the gate; and calls the procedure's handler that [Stack.Classify]
// found. Every request that is no call of a procedure goes to the fallback.
type admission struct {
	Served
	mistakes mistakes
	coalesce bool // whether to coalesce flushes, a fast path
}

func (a *admission) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call, _ := CallOf(r.Context())
	if call.Text {
		tw, translated, ok := grpcwebtext.Translate(w, r, call.mediaType)
		if !ok {
			return // answered
		}
		defer tw.Finish()
		w, r = tw, translated
	}
	if !call.Known {
		if !a.mistakes.answerUnknown(w, r, call, a.Errors) {
			a.Fallback.ServeHTTP(w, r)
		}
		return
	}
	if !a.check(w, r, call) {
		return
	}
	if r.Method == http.MethodPost && call.Enveloped && r.Body != nil && r.Body != http.NoBody {
		r.Body = &framedBody{ReadCloser: r.Body, compressed: call.Encoding != "" && call.Encoding != "identity"}
	}
	if a.Gate != nil {
		if r = a.Gate(w, r, call); r == nil {
			return
		}
	}
	if a.coalesce {
		coalesceFlushes(w, r, call, call.procedure.handler)
	} else {
		call.procedure.handler.ServeHTTP(w, r)
	}
}

// check refuses, and records, a call that connect-go would refuse, or
// answer less clearly, and reports whether the call may go on.
func (a *admission) check(w http.ResponseWriter, r *http.Request, call *Call) bool {
	err := call.timeoutErr
	switch {
	case err != nil:
	case call.Encoding != "" && call.Encoding != "identity" && call.Encoding != "gzip":
		err = connect.Errorf(connect.CodeUnimplemented,
			"unknown compression %q: supported encodings are %s", call.Encoding, supportedEncodings)
	case r.Method == http.MethodGet && call.StreamType == connect.StreamTypeUnary:
		err = checkGetMessage(r)
	case r.ProtoMajor < 2 && call.StreamType == connect.StreamTypeBidi:
		// The client may still be sending; closing the connection
		// unblocks it, as connect-go does.
		w.Header().Set("Connection", "close")
		err = connect.NewError(connect.CodeUnimplemented, errBidiNeedsHTTP2)
	case r.Method == http.MethodPost && call.Protocol == connect.ProtocolNameConnect && badConnectVersion(r):
		err = connect.Errorf(connect.CodeInvalidArgument,
			"Connect-Protocol-Version %q is not one this server speaks: send 1, or leave the header out",
			r.Header.Get("Connect-Protocol-Version")).WithCause(callerFault{errors.New("bad Connect-Protocol-Version")})
	}
	if err != nil {
		WriteError(a.Errors, w, r, err)
		a.record(r, call, err)
		return false
	}
	if message := unreadable(call); message != "" && r.Method == http.MethodPost {
		answerUnreadable(w, message)
		a.record(r, call, connect.NewError(connect.CodeUnknown, message).WithCause(callerFault{errors.New(message)}))
		return false
	}
	return true
}

// record records call, which its client was answered with err; a nil
// Refusals records nothing.
func (a *admission) record(r *http.Request, call *Call, err error) {
	a.Refusals.Record(r.Context(), observe.Refusal{
		Procedure: call.Procedure,
		Protocol:  call.Protocol,
		Codec:     call.Codec,
		Peer:      r.RemoteAddr,
		Header:    r.Header,
		Start:     call.Start,
	}, err)
}

// answerUnreadable answers a call sent with a Content-Type its procedure
// cannot be read in with 415 and message, a plain-text hint, not echoing
// the type sent. Every protocol's clients read 415 as unknown, as the
// Connect conformance suite checks; a Connect JSON error would make
// Connect clients read another code from it.
func answerUnreadable(w http.ResponseWriter, message string) {
	w.Header().Set("Accept-Post", "application/proto, application/json, application/connect+proto, "+
		"application/connect+json, application/grpc, application/grpc-web, application/grpc-web-text")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusUnsupportedMediaType)
	fmt.Fprintln(w, message)
}
