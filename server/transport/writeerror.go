package transport

import (
	"net/http"

	"connectrpc.com/connect/v2/connecthttp"
)

// WriteError answers r with err, in its caller's protocol, through errs.
//
// connect-go answers a gRPC call this way with headers that announce its
// trailers and no body; net/http, seeing the handler return with nothing
// written, then sends "content-length: 0" ahead of the trailers, and
// HAProxy 2.6 drops the trailers of such answers (from 2% to more than
// half of them in our runs): its client reads unknown with no message. Flushing the
// headers first sends them without a length, as connect-go's handlers do
// when a call fails.
func WriteError(errs *connecthttp.ErrorWriter, w http.ResponseWriter, r *http.Request, err error) {
	_ = errs.Write(w, r, err)
	if w.Header().Get("Trailer") != "" {
		_ = http.NewResponseController(w).Flush()
	}
}
