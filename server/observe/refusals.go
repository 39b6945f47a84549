package observe

import (
	"context"
	"errors"
	"io"
	"iter"
	"net/http"
	"time"

	"connectrpc.com/connect/v2"
)

// Refusals records the calls that the transport refuses before connect-go
// serves them (a Content-Type or timeout connect-go would turn away, a
// bidirectional stream over HTTP/1.1) as the calls connect-go serves are
// observed: the layer that refuses a call records it, with the error its
// client is sent, through the same interceptors.
type Refusals struct {
	server *connect.Server
}

// NewRefusals returns Refusals for the procedures of specs, which records
// refused calls through interceptors, outermost first, the same that
// observe the calls connect-go serves.
func NewRefusals(specs iter.Seq[connect.Spec], interceptors ...connect.ServerInterceptor) *Refusals {
	server := connect.NewServer(interceptors...)
	for spec := range specs {
		server.Register(connect.Method{Spec: connect.Spec{Procedure: spec.Procedure, StreamType: spec.StreamType}, Handler: refuse})
	}
	return &Refusals{server: server}
}

// refuse ends a recorded call with the error its client was sent.
func refuse(ctx context.Context, _ connect.Spec, _ connect.ServerStream) error {
	return refusalOf(ctx).err
}

// Refusal is what the refusing layer knows of a call it refused.
type Refusal struct {
	Procedure string      // such as /routeguide.RouteGuide/GetFeature
	Protocol  string      // connect, grpc or grpcweb
	Codec     string      // such as proto or json
	Peer      string      // the client's address
	Header    http.Header // the request's header
	Start     time.Time   // when the request's headers arrived
}

// Record records call, which ended with err before connect-go served it.
// A nil *Refusals records nothing, and none records the calls of procedures
// it does not know: their paths are whatever clients make up.
func (r *Refusals) Record(ctx context.Context, call Refusal, err error) {
	if r == nil || err == nil {
		return
	}
	info := &connect.CallInfo{PeerAddr: call.Peer, Protocol: call.Protocol, Codec: call.Codec,
		RequestEncoding: connect.CompressionNameIdentity, ResponseEncoding: connect.CompressionNameIdentity}
	for key, values := range call.Header {
		info.RequestHeader().SetValues(key, values)
	}
	// The call is over, and its context may have ended with it: what ended
	// it is err.
	ctx = context.WithValue(context.WithoutCancel(ctx), refusalKey{}, refusal{err: err, start: call.Start})
	_ = r.server.Call(ctx, call.Procedure, info, refusedStream{})
}

// refusalKey holds the refusal of a call being recorded.
type refusalKey struct{}

type refusal struct {
	err   error
	start time.Time
}

// refusalOf returns the refusal of the call of ctx; its err is nil for a
// call that was not refused.
func refusalOf(ctx context.Context) refusal {
	r, _ := ctx.Value(refusalKey{}).(refusal)
	return r
}

// refusedStream stands for a refused call: it has no messages.
type refusedStream struct{}

func (refusedStream) Receive(any) error  { return io.EOF }
func (refusedStream) SendHeaders() error { return errCallOver }
func (refusedStream) Send(any) error     { return errCallOver }

var errCallOver = errors.New("the call is over")
