package conformance

import (
	"context"
	"errors"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	v1 "github.com/routeguide/routeguide/gen/connectrpc/conformance/v1"
)

func (s *service) Unary(ctx context.Context, req *connect.Request[v1.UnaryRequest]) (*connect.Response[v1.UnaryResponse], error) {
	res := connect.NewResponse(&v1.UnaryResponse{})
	payload, err := answerUnary(ctx, req.Msg, req.Msg.GetResponseDefinition(), req.Header(), res)
	if err != nil {
		return nil, err
	}
	res.Msg.Payload = payload
	return res, nil
}

func (s *service) IdempotentUnary(ctx context.Context, req *connect.Request[v1.IdempotentUnaryRequest]) (*connect.Response[v1.IdempotentUnaryResponse], error) {
	res := connect.NewResponse(&v1.IdempotentUnaryResponse{})
	payload, err := answerUnary(ctx, req.Msg, req.Msg.GetResponseDefinition(), req.Header(), res)
	if err != nil {
		return nil, err
	}
	res.Msg.Payload = payload
	return res, nil
}

func (s *service) ClientStream(ctx context.Context, stream *connect.ClientStream[v1.ClientStreamRequest]) (*connect.Response[v1.ClientStreamResponse], error) {
	var (
		def      *v1.UnaryResponseDefinition
		requests []*anypb.Any
	)
	for stream.Receive() {
		// Only the first message's definition counts.
		if requests == nil {
			def = stream.Msg().GetResponseDefinition()
		}
		a, err := asAny(stream.Msg())
		if err != nil {
			return nil, err
		}
		requests = append(requests, a)
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	res := connect.NewResponse(&v1.ClientStreamResponse{})
	payload, err := answer(ctx, requests, def, stream.RequestHeader(), res)
	if err != nil {
		return nil, err
	}
	res.Msg.Payload = payload
	return res, nil
}

// metadata is a unary response's headers and trailers.
type metadata interface {
	Header() http.Header
	Trailer() http.Header
}

// answerUnary answers a call with a single request.
func answerUnary(ctx context.Context, req proto.Message, def *v1.UnaryResponseDefinition, header http.Header, res metadata) (*v1.ConformancePayload, error) {
	a, err := asAny(req)
	if err != nil {
		return nil, err
	}
	return answer(ctx, []*anypb.Any{a}, def, header, res)
}

// answer returns the payload the definition asks for, echoing requests, or
// the error it asks for, after its delay, and sets the response headers and
// trailers it asks for on res, or on the error.
func answer(ctx context.Context, requests []*anypb.Any, def *v1.UnaryResponseDefinition, header http.Header, res metadata) (*v1.ConformancePayload, error) {
	info := requestInfo(ctx, header, requests)
	if def == nil {
		return &v1.ConformancePayload{RequestInfo: info}, nil
	}
	if err := pause(ctx, def.GetResponseDelayMs()); err != nil {
		return nil, err
	}
	if e := def.GetError(); e != nil {
		err := newError(e, info)
		// A unary error has no separate headers and trailers: connect-go
		// sends its metadata in whichever the protocol uses for errors.
		var connectErr *connect.Error
		if errors.As(err, &connectErr) {
			addHeaders(connectErr.Meta(), def.GetResponseHeaders())
			addHeaders(connectErr.Meta(), def.GetResponseTrailers())
		}
		return nil, err
	}
	addHeaders(res.Header(), def.GetResponseHeaders())
	addHeaders(res.Trailer(), def.GetResponseTrailers())
	return &v1.ConformancePayload{RequestInfo: info, Data: def.GetResponseData()}, nil
}

// pause waits for the response delay a definition asks for, or until the
// call ends.
func pause(ctx context.Context, delayMillis uint32) error {
	if delayMillis == 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(delayMillis) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
