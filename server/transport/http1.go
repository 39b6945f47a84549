package transport

import (
	"net/http"

	"connectrpc.com/connect/v2"
)

const errBidiNeedsHTTP2 = ("this method is a bidirectional stream, which needs HTTP/2: " +
	"call it over HTTP/2, without TLS (h2c, prior knowledge) or with TLS; HTTP/1.1 cannot carry it")

// requireHTTP2ForBidi answers bidirectional-stream calls made over HTTP/1.x
// with an unimplemented error in the caller's own protocol. connect-go
// answers them with a bare 505 status, which most clients can only report as
// "unknown", leaving the caller to guess why.
func requireHTTP2ForBidi(next http.Handler, refuser *refuser) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor >= 2 || callOf(r, refuser.procedures).StreamType != connect.StreamTypeBidi {
			next.ServeHTTP(w, r)
			return
		}
		// The client may still be sending; closing the connection unblocks
		// it, as connect-go does.
		w.Header().Set("Connection", "close")
		refuser.refuse(w, r, connect.NewError(connect.CodeUnimplemented, errBidiNeedsHTTP2))
	})
}
