package conformance_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/connect/v2/connectinprocess"
	"connectrpc.com/connect/v2/connectproto"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"

	v1 "github.com/routeguide/routeguide/gen/connectrpc/conformance/v1"
	"github.com/routeguide/routeguide/gen/connectrpc/conformance/v1/conformancev1connect"
	"github.com/routeguide/routeguide/internal/conformance"
)

// newClient returns a client of the ConformanceService that calls it in
// process: these tests are about what the service answers, not about a
// transport, which the conformance suite itself exercises over real sockets.
func newClient(t *testing.T) conformancev1connect.ConformanceServiceClient {
	t.Helper()
	rpc := connect.NewServer(conformance.AskedDeadline())
	conformance.Register(rpc)
	return conformancev1connect.NewConformanceServiceClient(connect.NewClient(connectinprocess.New(rpc)))
}

// newHTTPClient serves the ConformanceService over HTTP/2 with TLS on
// loopback and returns a client of it, for the tests about what crosses
// the wire (an HTTP GET).
func newHTTPClient(t *testing.T, options ...connecthttp.Option) conformancev1connect.ConformanceServiceClient {
	t.Helper()
	return newClientOf(t, nil, options...)
}

// newClientOf is newClient with the service served through interceptors.
func newClientOf(t *testing.T, interceptors []connect.ServerInterceptor, options ...connecthttp.Option) conformancev1connect.ConformanceServiceClient {
	t.Helper()
	rpc := connect.NewServer(append([]connect.ServerInterceptor{conformance.AskedDeadline()}, interceptors...)...)
	conformance.Register(rpc)
	mux := http.NewServeMux()
	connecthttp.Mount(mux, rpc)
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return conformancev1connect.NewConformanceServiceClient(connect.NewClient(connecthttp.NewTransport(srv.Client(), srv.URL, options...)))
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func header(name string, values ...string) *v1.Header {
	return &v1.Header{Name: name, Value: values}
}

func TestUnaryAnswersAsDefinedAndEchoesTheRequest(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	msg := &v1.UnaryRequest{
		RequestData: []byte("ping"),
		ResponseDefinition: &v1.UnaryResponseDefinition{
			ResponseHeaders:  []*v1.Header{header("x-head", "a", "b")},
			ResponseTrailers: []*v1.Header{header("x-tail", "c")},
			Response:         &v1.UnaryResponseDefinition_ResponseData{ResponseData: []byte("pong")},
		},
	}
	ctx, call := connect.NewClientContext(context.Background())
	call.RequestHeader().Set("X-Asked", "yes")
	res, err := c.Unary(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(res.GetPayload().GetData()), "pong"; got != want {
		t.Errorf("data = %q, want %q", got, want)
	}
	if got, want := call.ResponseHeader().Values("X-Head"), []string{"a", "b"}; !cmp.Equal(got, want) {
		t.Errorf("header x-head = %q, want %q", got, want)
	}
	if got, want := call.ResponseTrailer().Values("X-Tail"), []string{"c"}; !cmp.Equal(got, want) {
		t.Errorf("trailer x-tail = %q, want %q", got, want)
	}
	info := res.GetPayload().GetRequestInfo()
	if diff := cmp.Diff([]*anypb.Any{mustAny(t, msg)}, info.GetRequests(), protocmp.Transform()); diff != "" {
		t.Errorf("echoed requests (-want +got):\n%s", diff)
	}
	if !hasHeader(info.GetRequestHeaders(), "X-Asked", "yes") {
		t.Errorf("request headers %v lack X-Asked: yes", info.GetRequestHeaders())
	}
}

func hasHeader(headers []*v1.Header, name, value string) bool {
	for _, h := range headers {
		if http.CanonicalHeaderKey(h.GetName()) == name {
			for _, v := range h.GetValue() {
				if v == value {
					return true
				}
			}
		}
	}
	return false
}

// The service echoes the timeout the client asked for, whatever deadline the
// server's own layers set, as our stack's call life does.
func TestUnaryEchoesTheAskedTimeout(t *testing.T) {
	t.Parallel()
	shorten := func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			return next(ctx, spec, stream)
		}
	}
	c := newClientOf(t, []connect.ServerInterceptor{shorten})

	res, err := c.Unary(context.Background(), &v1.UnaryRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.GetPayload().GetRequestInfo().TimeoutMs; got != nil {
		t.Errorf("timeout_ms = %d, want none: the client asked for none", *got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	res, err = c.Unary(ctx, &v1.UnaryRequest{})
	if err != nil {
		t.Fatal(err)
	}
	info := res.GetPayload().GetRequestInfo()
	if info.TimeoutMs == nil || info.GetTimeoutMs() > 50_000 || info.GetTimeoutMs() < 49_000 {
		t.Errorf("timeout_ms = %v, want within a second below 50000", info.TimeoutMs)
	}
}

func TestUnaryErrorCarriesTheRequestInfo(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	detail := &v1.Header{Name: "a detail"}
	msg := &v1.UnaryRequest{ResponseDefinition: &v1.UnaryResponseDefinition{
		ResponseHeaders: []*v1.Header{header("x-head", "a")},
		Response: &v1.UnaryResponseDefinition_Error{Error: &v1.Error{
			Code:    v1.Code_CODE_RESOURCE_EXHAUSTED,
			Message: proto.String("too much"),
			Details: []*anypb.Any{mustAny(t, detail)},
		}},
	}}
	ctx, call := connect.NewClientContext(context.Background())
	_, err := c.Unary(ctx, msg)
	var connectErr *connect.Error
	if !errors.As(err, &connectErr) {
		t.Fatalf("err = %v, want a connect error", err)
	}
	if got, want := connectErr.Code(), connect.CodeResourceExhausted; got != want {
		t.Errorf("code = %v, want %v", got, want)
	}
	if got, want := connectErr.Message(), "too much"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if got, want := call.ResponseHeader().Get("X-Head"), "a"; got != want {
		t.Errorf("metadata x-head = %q, want %q", got, want)
	}
	details := connectErr.Details()
	if len(details) != 2 {
		t.Fatalf("%d details, want the one asked for and the request info", len(details))
	}
	first, err := connectproto.UnmarshalErrorDetail(details[0])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(detail, first, protocmp.Transform()); diff != "" {
		t.Errorf("first detail (-want +got):\n%s", diff)
	}
	last, err := connectproto.UnmarshalErrorDetail(details[1])
	if err != nil {
		t.Fatal(err)
	}
	info, ok := last.(*v1.ConformancePayload_RequestInfo)
	if !ok || len(info.GetRequests()) != 1 {
		t.Errorf("last detail = %v, want the request info with the request", last)
	}
}

func TestUnaryDelayEndsAtTheDeadline(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Unary(ctx, &v1.UnaryRequest{ResponseDefinition: &v1.UnaryResponseDefinition{
		ResponseDelayMs: 10_000,
	}})
	if got, want := connect.CodeOf(err), connect.CodeDeadlineExceeded; got != want {
		t.Errorf("code = %v (%v), want %v", got, err, want)
	}
}

func TestIdempotentUnaryOverGETEchoesTheQuery(t *testing.T) {
	t.Parallel()
	c := newHTTPClient(t, connecthttp.WithHTTPGet())
	res, err := c.IdempotentUnary(context.Background(), &v1.IdempotentUnaryRequest{
		ResponseDefinition: &v1.UnaryResponseDefinition{
			Response: &v1.UnaryResponseDefinition_ResponseData{ResponseData: []byte("got")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(res.GetPayload().GetData()), "got"; got != want {
		t.Errorf("data = %q, want %q", got, want)
	}
	params := res.GetPayload().GetRequestInfo().GetConnectGetInfo().GetQueryParams()
	names := map[string]bool{}
	for _, p := range params {
		names[p.GetName()] = true
	}
	for _, want := range []string{"connect", "encoding", "message"} {
		if !names[want] {
			t.Errorf("query params %v lack %q", params, want)
		}
	}
}

func TestUnimplementedAnswersUnimplemented(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	_, err := c.Unimplemented(context.Background(), &v1.UnimplementedRequest{})
	if got, want := connect.CodeOf(err), connect.CodeUnimplemented; got != want {
		t.Errorf("code = %v, want %v", got, want)
	}
}

func TestClientStreamEchoesEveryRequest(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	stream, err := c.ClientStream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	msgs := []*v1.ClientStreamRequest{
		{RequestData: []byte("1"), ResponseDefinition: &v1.UnaryResponseDefinition{
			Response: &v1.UnaryResponseDefinition_ResponseData{ResponseData: []byte("first")},
		}},
		// A later definition is ignored.
		{RequestData: []byte("2"), ResponseDefinition: &v1.UnaryResponseDefinition{
			Response: &v1.UnaryResponseDefinition_ResponseData{ResponseData: []byte("second")},
		}},
	}
	var want []*anypb.Any
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			t.Fatal(err)
		}
		want = append(want, mustAny(t, m))
	}
	res, err := stream.CloseAndReceive()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.GetPayload().GetData()); got != "first" {
		t.Errorf("data = %q, want the first definition's", got)
	}
	if diff := cmp.Diff(want, res.GetPayload().GetRequestInfo().GetRequests(), protocmp.Transform()); diff != "" {
		t.Errorf("echoed requests (-want +got):\n%s", diff)
	}
}

func TestServerStreamSendsEachResponseThenTheError(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ctx, call := connect.NewClientContext(context.Background())
	stream, err := c.ServerStream(ctx, &v1.ServerStreamRequest{
		ResponseDefinition: &v1.StreamResponseDefinition{
			ResponseHeaders:  []*v1.Header{header("x-head", "a")},
			ResponseTrailers: []*v1.Header{header("x-tail", "b")},
			ResponseData:     [][]byte{[]byte("1"), []byte("2"), []byte("3")},
			ResponseDelayMs:  10,
			Error:            &v1.Error{Code: v1.Code_CODE_ABORTED, Message: proto.String("stop")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var got []string
	var streamErr error
	for {
		res, err := stream.Receive()
		if err != nil {
			streamErr = err
			break
		}
		p := res.GetPayload()
		if (p.GetRequestInfo() != nil) != (len(got) == 0) {
			t.Errorf("response %d: request info %v, want it in the first response only", len(got)+1, p.GetRequestInfo())
		}
		got = append(got, string(p.GetData()))
	}
	if diff := cmp.Diff([]string{"1", "2", "3"}, got); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	if got, want := connect.CodeOf(streamErr), connect.CodeAborted; got != want {
		t.Errorf("code = %v, want %v", got, want)
	}
	if got := call.ResponseHeader().Get("X-Head"); got != "a" {
		t.Errorf("header x-head = %q, want a", got)
	}
	if got := call.ResponseTrailer().Get("X-Tail"); got != "b" {
		t.Errorf("trailer x-tail = %q, want b", got)
	}
}

func TestBidiStreamFullDuplexAnswersEachRequest(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	stream, err := c.BidiStream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	def := &v1.StreamResponseDefinition{
		ResponseData: [][]byte{[]byte("a"), []byte("b")},
		Error:        &v1.Error{Code: v1.Code_CODE_FAILED_PRECONDITION},
	}
	for i, data := range []string{"a", "b"} {
		req := &v1.BidiStreamRequest{FullDuplex: true, RequestData: []byte(data)}
		if i == 0 {
			req.ResponseDefinition = def
		}
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		res, err := stream.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(res.GetPayload().GetData()); got != data {
			t.Errorf("response %d: data = %q, want %q", i+1, got, data)
		}
		// Each response echoes the requests since the previous one.
		if diff := cmp.Diff([]*anypb.Any{mustAny(t, req)}, res.GetPayload().GetRequestInfo().GetRequests(), protocmp.Transform()); diff != "" {
			t.Errorf("response %d: echoed requests (-want +got):\n%s", i+1, diff)
		}
	}
	// No response is left for a third request: it gets the error.
	// Not empty: the server can answer an empty message once it has read
	// the envelope's prefix, before the client's write of it returns.
	if err := stream.Send(&v1.BidiStreamRequest{RequestData: []byte("c")}); err != nil {
		t.Fatal(err)
	}
	_, err = stream.Receive()
	if got, want := connect.CodeOf(err), connect.CodeFailedPrecondition; got != want {
		t.Errorf("code = %v (%v), want %v", got, err, want)
	}
	// The server has ended the stream: closing our side may find it gone.
	_ = stream.CloseSend()
	if err := stream.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBidiStreamHalfDuplexAnswersOnceTheClientIsDone(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	stream, err := c.BidiStream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reqs := []*v1.BidiStreamRequest{
		{ResponseDefinition: &v1.StreamResponseDefinition{ResponseData: [][]byte{[]byte("x"), []byte("y")}}},
		{RequestData: []byte("more")},
	}
	var want []*anypb.Any
	for _, r := range reqs {
		if err := stream.Send(r); err != nil {
			t.Fatal(err)
		}
		want = append(want, mustAny(t, r))
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	first, err := stream.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, first.GetPayload().GetRequestInfo().GetRequests(), protocmp.Transform()); diff != "" {
		t.Errorf("first response echoes (-want +got):\n%s", diff)
	}
	second, err := stream.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if second.GetPayload().GetRequestInfo() != nil || string(second.GetPayload().GetData()) != "y" {
		t.Errorf("second response = %v, want data y alone", second.GetPayload())
	}
	if err := stream.Close(); err != nil {
		t.Fatal(err)
	}
}
