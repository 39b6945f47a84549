package client

import (
	"context"
	"io"
	"net/http"
	"sync"

	"connectrpc.com/connect/v2/connecthttp"
)

// withDeadlineBodies ends a call at its context's end even while its
// request body is open, as a RouteChat's is until CloseSend. Go's HTTP/2
// client (as of Go 1.26) watches the context of a call whose answer has
// begun only once the request body is done: a RouteChat whose replica
// stopped answering (SIGSTOP, a partition) waited past its deadline until
// the replica came back, 42.6 s for a 30 s deadline in the nemesis. Closing
// the body at the context's end makes the client reset the stream at once.
func withDeadlineBodies(next connecthttp.HTTPClient) connecthttp.HTTPClient {
	return deadlineBodies{next}
}

type deadlineBodies struct{ next connecthttp.HTTPClient }

func (d deadlineBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody || req.Context().Done() == nil {
		return d.next.Do(req)
	}
	body := req.Body
	stop := context.AfterFunc(req.Context(), func() { body.Close() })
	res, err := d.next.Do(req)
	if err != nil {
		stop()
		return res, err
	}
	res.Body = &stopOnClose{ReadCloser: res.Body, stop: stop}
	return res, nil
}

// stopOnClose forgets the context's watch once the answer is read.
type stopOnClose struct {
	io.ReadCloser
	stop func() bool
	once sync.Once
}

func (s *stopOnClose) Close() error {
	s.once.Do(func() { s.stop() })
	return s.ReadCloser.Close()
}
