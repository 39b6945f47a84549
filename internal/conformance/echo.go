package conformance

import (
	"context"
	"net/http"
	"slices"
	"sort"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connectproto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	v1 "github.com/routeguide/routeguide/gen/connectrpc/conformance/v1"
)

// requestInfo describes what the service saw of a call: its headers, the
// timeout it asked for, the query of a Connect GET, and the requests.
func requestInfo(ctx context.Context, requests []*anypb.Any) *v1.ConformancePayload_RequestInfo {
	info := &v1.ConformancePayload_RequestInfo{
		RequestHeaders: toProtoHeaders(requestHeader(ctx)),
		TimeoutMs:      timeoutMillis(ctx),
		Requests:       requests,
	}
	if q := queryFrom(ctx); q != nil {
		info.ConnectGetInfo = &v1.ConformancePayload_ConnectGetInfo{QueryParams: toProtoHeaders(http.Header(q))}
	}
	return info
}

// asAny wraps a request to be echoed.
func asAny(msg proto.Message) (*anypb.Any, error) {
	a, err := anypb.New(msg)
	if err != nil {
		return nil, connect.Errorf(connect.CodeInternal, "echo request: %v", err)
	}
	return a, nil
}

// toProtoHeaders lists h sorted by name, so that echoes are stable.
func toProtoHeaders(h http.Header) []*v1.Header {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	headers := make([]*v1.Header, 0, len(names))
	for _, name := range names {
		headers = append(headers, &v1.Header{Name: name, Value: slices.Clone(h[name])})
	}
	return headers
}

// setMetadata sets the response headers and trailers a definition asks for.
func setMetadata(ctx context.Context, headers, trailers []*v1.Header) {
	info, ok := connect.CallInfoForServerContext(ctx)
	if !ok {
		return
	}
	addHeaders(info.ResponseHeader(), headers)
	addHeaders(info.ResponseTrailer(), trailers)
}

// addHeaders adds the headers a response definition asks for to h.
func addHeaders(h *connect.Header, headers []*v1.Header) {
	for _, header := range headers {
		for _, v := range header.GetValue() {
			h.Add(header.GetName(), v)
		}
	}
}

// newError returns the error a response definition asks for, with the
// request info, if any, as its last detail, as the suite expects when no
// response carried it.
func newError(def *v1.Error, info *v1.ConformancePayload_RequestInfo) error {
	var err *connect.Error
	// The code is the enum's number, which is the Connect code's.
	code := connect.Code(def.GetCode())
	if def.Message != nil {
		err = connect.NewError(code, def.GetMessage())
	} else {
		err = connect.NewError(code, "")
	}
	details := def.GetDetails()
	if info != nil {
		a, aErr := asAny(info)
		if aErr != nil {
			return aErr
		}
		details = append(slices.Clip(details), a)
	}
	for _, d := range details {
		detail, dErr := connectproto.NewErrorDetail(d)
		if dErr != nil {
			return connect.Errorf(connect.CodeInternal, "error detail: %v", dErr)
		}
		err = err.WithDetail(detail)
	}
	return err
}
