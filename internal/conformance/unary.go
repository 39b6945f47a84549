package conformance

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/routeguide/routeguide/gen/connectrpc/conformance/v1/conformancev1connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	v1 "github.com/routeguide/routeguide/gen/connectrpc/conformance/v1"
)

func (s *service) Unary(ctx context.Context, req *v1.UnaryRequest) (*v1.UnaryResponse, error) {
	payload, err := answerUnary(ctx, req, req.GetResponseDefinition())
	if err != nil {
		return nil, err
	}
	return &v1.UnaryResponse{Payload: payload}, nil
}

func (s *service) IdempotentUnary(ctx context.Context, req *v1.IdempotentUnaryRequest) (*v1.IdempotentUnaryResponse, error) {
	payload, err := answerUnary(ctx, req, req.GetResponseDefinition())
	if err != nil {
		return nil, err
	}
	return &v1.IdempotentUnaryResponse{Payload: payload}, nil
}

func (s *service) ClientStream(ctx context.Context, stream conformancev1connect.ConformanceServiceClientStreamServerStream) (*v1.ClientStreamResponse, error) {
	var (
		def      *v1.UnaryResponseDefinition
		requests []*anypb.Any
	)
	for {
		msg, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		// Only the first message's definition counts.
		if requests == nil {
			def = msg.GetResponseDefinition()
		}
		a, err := asAny(msg)
		if err != nil {
			return nil, err
		}
		requests = append(requests, a)
	}
	payload, err := answer(ctx, requests, def)
	if err != nil {
		return nil, err
	}
	return &v1.ClientStreamResponse{Payload: payload}, nil
}

// answerUnary answers a call with a single request.
func answerUnary(ctx context.Context, req proto.Message, def *v1.UnaryResponseDefinition) (*v1.ConformancePayload, error) {
	a, err := asAny(req)
	if err != nil {
		return nil, err
	}
	return answer(ctx, []*anypb.Any{a}, def)
}

// answer returns the payload the definition asks for, echoing requests, or
// the error it asks for, after its delay, and sets the response headers and
// trailers it asks for, which connect-go sends with the error too.
func answer(ctx context.Context, requests []*anypb.Any, def *v1.UnaryResponseDefinition) (*v1.ConformancePayload, error) {
	info := requestInfo(ctx, requests)
	if def == nil {
		return &v1.ConformancePayload{RequestInfo: info}, nil
	}
	if err := pause(ctx, def.GetResponseDelayMs()); err != nil {
		return nil, err
	}
	setMetadata(ctx, def.GetResponseHeaders(), def.GetResponseTrailers())
	if e := def.GetError(); e != nil {
		return nil, newError(e, info)
	}
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
