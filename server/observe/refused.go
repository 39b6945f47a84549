package observe

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
)

// Calls makes sure that every call to a procedure is observed once, with the
// code it ended with, by the interceptors it is built with (telemetry, the
// access log, metrics). connect-go runs interceptors only once it has read a
// unary call's request, so a call it refuses before that — a request that
// does not arrive in time, does not decode, is too large, or has a bad
// timeout or encoding — and one the transport refuses on its own, would
// leave no trace. Calls replays such a call through the interceptors, with
// the error its client was sent, once it is over.
type Calls struct {
	procedure func(path string) (connect.StreamType, bool)
	replay    connect.StreamingHandlerFunc
}

// NewCalls returns a Calls for the procedures that procedure knows, which
// replays refused calls through interceptors, outermost first: the same
// that observe the calls connect-go lets through. With no interceptors
// there is nothing to observe: it returns nil, whose methods cost nothing.
func NewCalls(procedure func(path string) (connect.StreamType, bool), interceptors ...connect.Interceptor) *Calls {
	if len(interceptors) == 0 {
		return nil
	}
	replay := connect.StreamingHandlerFunc(func(ctx context.Context, _ connect.StreamingHandlerConn) error {
		return refusalFrom(ctx)
	})
	for i := len(interceptors) - 1; i >= 0; i-- {
		replay = interceptors[i].WrapStreamingHandler(replay)
	}
	return &Calls{procedure: procedure, replay: replay}
}

type callKey struct{}

// call is what Calls keeps of a call in progress.
type call struct {
	start time.Time
	seen  atomic.Bool // whether the interceptors have seen it
}

// refusalKey holds the error a replayed call ended with.
type refusalKey struct{}

func refusalFrom(ctx context.Context) error {
	err, _ := ctx.Value(refusalKey{}).(error)
	return err
}

// startOf returns when the call of ctx began: when its headers arrived, if
// it is observed through [Calls], and otherwise now.
func startOf(ctx context.Context) time.Time {
	if c, ok := ctx.Value(callKey{}).(*call); ok {
		return c.start
	}
	return time.Now()
}

// Interceptor marks the calls it sees as observed. It must come before
// every interceptor that Calls replays through.
func (c *Calls) Interceptor() connect.Interceptor {
	if c == nil {
		return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc { return next })
	}
	return seenMarker{}
}

type seenMarker struct{}

func markSeen(ctx context.Context) {
	if c, ok := ctx.Value(callKey{}).(*call); ok {
		c.seen.Store(true)
	}
}

func (seenMarker) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		markSeen(ctx)
		return next(ctx, req)
	}
}

func (seenMarker) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (seenMarker) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		markSeen(ctx)
		return next(ctx, conn)
	}
}

// Handler wraps next, which serves the procedures with handlers that use
// [Calls.Interceptor], and replays the calls they refuse.
func (c *Calls) Handler(next http.Handler) http.Handler {
	if c == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		streamType, ok := c.procedure(r.URL.Path)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		state := &call{start: time.Now()}
		ctx := context.WithValue(r.Context(), callKey{}, state)
		rec := &answerRecorder{ResponseWriter: w, call: state}
		next.ServeHTTP(rec, r.WithContext(ctx))
		if state.seen.Load() {
			return
		}
		protocol := protocolOf(r)
		err := rec.answer(protocol, streamType)
		if err == nil {
			return // not an RPC's answer, such as 415 for a content type no protocol has
		}
		conn := &refusedConn{
			spec:   connect.Spec{Procedure: r.URL.Path, StreamType: streamType},
			peer:   connect.Peer{Addr: r.RemoteAddr, Protocol: protocol, Query: r.URL.Query()},
			header: r.Header,
			w:      w,
		}
		// The call is over, and its context may have ended with it, as
		// when the server cut off its reads: what ended it is err.
		_ = c.replay(context.WithValue(context.WithoutCancel(ctx), refusalKey{}, err), conn)
	})
}

// protocolOf returns the protocol of a call, as connect-go names it.
func protocolOf(r *http.Request) string {
	contentType := strings.ToLower(r.Header.Get("Content-Type"))
	switch {
	case strings.HasPrefix(contentType, "application/grpc-web"):
		return connect.ProtocolGRPCWeb
	case strings.HasPrefix(contentType, "application/grpc"):
		return connect.ProtocolGRPC
	}
	return connect.ProtocolConnect
}

// answerRecorder keeps the status and the start of the body of a response
// until the interceptors have seen its call: a refusal is all in its first
// bytes.
type answerRecorder struct {
	http.ResponseWriter
	call   *call
	status int
	body   []byte // at most maxAnswer bytes
}

const maxAnswer = 4 << 10

func (a *answerRecorder) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
	a.ResponseWriter.WriteHeader(status)
}

func (a *answerRecorder) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	if !a.call.seen.Load() && len(a.body) < maxAnswer {
		a.body = append(a.body, p[:min(len(p), maxAnswer-len(a.body))]...)
	}
	return a.ResponseWriter.Write(p)
}

// Flush implements [http.Flusher], which connect-go needs for streams.
func (a *answerRecorder) Flush() {
	if f, ok := a.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets [http.ResponseController] reach the connection's writer.
func (a *answerRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// answer returns the error that a response in protocol carries, or nil if
// it carries none or is no RPC's answer.
func (a *answerRecorder) answer(protocol string, streamType connect.StreamType) error {
	header := a.Header()
	switch {
	case protocol == connect.ProtocolGRPC || protocol == connect.ProtocolGRPCWeb:
		status, message := header.Get("Grpc-Status"), header.Get("Grpc-Message")
		if status == "" {
			status, message = header.Get(http.TrailerPrefix+"Grpc-Status"), header.Get(http.TrailerPrefix+"Grpc-Message")
		}
		if status == "" && protocol == connect.ProtocolGRPCWeb {
			status, message = webTrailers(a.body)
		}
		n, err := strconv.Atoi(status)
		if err != nil || n == 0 {
			return nil
		}
		message, _ = url.PathUnescape(message)
		return connect.NewError(connect.Code(n), errors.New(message))
	case streamType == connect.StreamTypeUnary:
		if a.status == 0 || a.status == http.StatusOK {
			return nil
		}
		return connectError(a.body)
	}
	return connectEndStream(a.body)
}

// webTrailers finds the trailers of a gRPC-Web response body, the envelope
// flagged 0x80, and returns its status and message.
func webTrailers(body []byte) (status, message string) {
	for len(body) >= 5 {
		size := int(binary.BigEndian.Uint32(body[1:5]))
		if size > len(body)-5 {
			return "", ""
		}
		if body[0]&0x80 != 0 {
			for line := range strings.SplitSeq(string(body[5:5+size]), "\r\n") {
				key, value, _ := strings.Cut(line, ":")
				switch strings.ToLower(strings.TrimSpace(key)) {
				case "grpc-status":
					status = strings.TrimSpace(value)
				case "grpc-message":
					message = strings.TrimSpace(value)
				}
			}
			return status, message
		}
		body = body[5+size:]
	}
	return "", ""
}

// connectError decodes the error of a unary Connect response.
func connectError(body []byte) error {
	var wire struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &wire) != nil {
		return nil
	}
	var code connect.Code
	if code.UnmarshalText([]byte(wire.Code)) != nil {
		return nil
	}
	return connect.NewError(code, errors.New(wire.Message))
}

// connectEndStream finds the end of a Connect stream, the envelope flagged
// 2, and returns the error it carries.
func connectEndStream(body []byte) error {
	for len(body) >= 5 {
		size := int(binary.BigEndian.Uint32(body[1:5]))
		if size > len(body)-5 {
			return nil
		}
		if body[0]&2 != 0 {
			var end struct {
				Error json.RawMessage `json:"error"`
			}
			if json.Unmarshal(body[5:5+size], &end) != nil || len(bytes.TrimSpace(end.Error)) == 0 {
				return nil
			}
			return connectError(end.Error)
		}
		body = body[5+size:]
	}
	return nil
}

// refusedConn stands for a refused call when it is replayed: it has the
// call's spec, peer and headers, and no messages.
type refusedConn struct {
	spec    connect.Spec
	peer    connect.Peer
	header  http.Header
	w       http.ResponseWriter
	trailer http.Header
}

func (c *refusedConn) Spec() connect.Spec          { return c.spec }
func (c *refusedConn) Peer() connect.Peer          { return c.peer }
func (c *refusedConn) Receive(any) error           { return io.EOF }
func (c *refusedConn) RequestHeader() http.Header  { return c.header }
func (c *refusedConn) Send(any) error              { return errors.New("the call is over") }
func (c *refusedConn) ResponseHeader() http.Header { return c.w.Header() }
func (c *refusedConn) ResponseTrailer() http.Header {
	if c.trailer == nil {
		c.trailer = make(http.Header)
	}
	return c.trailer
}
