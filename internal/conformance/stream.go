package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/routeguide/routeguide/gen/connectrpc/conformance/v1/conformancev1connect"
	"google.golang.org/protobuf/types/known/anypb"

	v1 "github.com/routeguide/routeguide/gen/connectrpc/conformance/v1"
)

func (s *service) ServerStream(ctx context.Context, req *v1.ServerStreamRequest, stream conformancev1connect.ConformanceServiceServerStreamServerStream) error {
	a, err := asAny(req)
	if err != nil {
		return err
	}
	requests := []*anypb.Any{a}
	def := req.GetResponseDefinition()
	if def == nil {
		return nil
	}
	setMetadata(ctx, def.GetResponseHeaders(), def.GetResponseTrailers())
	if len(def.GetResponseData()) > 0 {
		// Headers first, so that the client need not wait out the delay
		// to see them.
		if err := sendHeaders(stream.SendHeaders()); err != nil {
			return err
		}
	}
	for i, data := range def.GetResponseData() {
		payload := &v1.ConformancePayload{Data: data}
		if i == 0 {
			payload.RequestInfo = requestInfo(ctx, requests)
		}
		if err := pause(ctx, def.GetResponseDelayMs()); err != nil {
			return err
		}
		if err := stream.Send(&v1.ServerStreamResponse{Payload: payload}); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	return streamError(ctx, def, len(def.GetResponseData()), requests)
}

func (s *service) BidiStream(ctx context.Context, stream conformancev1connect.ConformanceServiceBidiStreamServerStream) error {
	var (
		def        *v1.StreamResponseDefinition
		fullDuplex bool
		requests   []*anypb.Any // since the last response, in full duplex
		sent       int
		first      = true
	)
	send := func() error {
		payload := &v1.ConformancePayload{Data: def.GetResponseData()[sent]}
		switch {
		case sent == 0:
			payload.RequestInfo = requestInfo(ctx, requests)
		case fullDuplex:
			payload.RequestInfo = &v1.ConformancePayload_RequestInfo{Requests: requests}
		}
		if err := pause(ctx, def.GetResponseDelayMs()); err != nil {
			return err
		}
		if err := stream.Send(&v1.BidiStreamResponse{Payload: payload}); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		sent++
		requests = nil
		return nil
	}
	for {
		msg, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		a, err := asAny(msg)
		if err != nil {
			return err
		}
		requests = append(requests, a)
		if first {
			first = false
			def, fullDuplex = msg.GetResponseDefinition(), msg.GetFullDuplex()
			setMetadata(ctx, def.GetResponseHeaders(), def.GetResponseTrailers())
			// A half-duplex client sends everything before it reads, so
			// its headers wait until then.
			if fullDuplex && len(def.GetResponseData()) > 0 {
				if err := sendHeaders(stream.SendHeaders()); err != nil {
					return err
				}
			}
		}
		if !fullDuplex {
			continue
		}
		if sent == len(def.GetResponseData()) {
			// Nothing left to answer with: end with the error, if any.
			break
		}
		if err := send(); err != nil {
			return err
		}
	}
	if !fullDuplex && len(def.GetResponseData()) > 0 {
		if err := sendHeaders(stream.SendHeaders()); err != nil {
			return err
		}
	}
	for sent < len(def.GetResponseData()) {
		if err := send(); err != nil {
			return err
		}
	}
	return streamError(ctx, def, sent, requests)
}

// streamError returns the error a stream's definition asks for, if any,
// with the request info when no response carried it.
func streamError(ctx context.Context, def *v1.StreamResponseDefinition, sent int, requests []*anypb.Any) error {
	if def.GetError() == nil {
		return nil
	}
	var info *v1.ConformancePayload_RequestInfo
	if sent == 0 {
		info = requestInfo(ctx, requests)
	}
	return newError(def.GetError(), info)
}

// sendHeaders wraps an error from sending a stream's headers.
func sendHeaders(err error) error {
	if err != nil {
		return fmt.Errorf("send headers: %w", err)
	}
	return nil
}
