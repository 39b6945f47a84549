package transport

import (
	"net/http"

	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/server/observe"
)

// refuser answers the calls the transport refuses before connect-go serves
// them, in the caller's protocol, and records each through the
// interceptors that observe the calls connect-go serves.
type refuser struct {
	errorWriter *connecthttp.ErrorWriter
	refusals    *observe.Refusals // nil records nothing
	procedures  Procedures
}

// refuse answers r with err and records it.
func (f *refuser) refuse(w http.ResponseWriter, r *http.Request, err error) {
	_ = f.errorWriter.Write(w, r, err)
	f.record(r, err)
}

// record records r, which its client was answered with err.
func (f *refuser) record(r *http.Request, err error) {
	if f.refusals == nil {
		return
	}
	call := callOf(r, f.procedures)
	if !call.Known {
		return
	}
	f.refusals.Record(r.Context(), observe.Refusal{
		Procedure: call.Procedure,
		Protocol:  call.Protocol,
		Codec:     call.Codec,
		Peer:      r.RemoteAddr,
		Header:    r.Header,
		Start:     call.Start,
	}, err)
}
