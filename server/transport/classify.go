package transport

import (
	"context"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect/v2"
)

// Call is what the transport works out about a request once, in its
// outermost layer ([Stack.Classify]), for every layer inside to read from
// the request's context with [CallOf]: none of them looks the procedure up
// or parses the Content-Type again.
type Call struct {
	// Procedure is the request's path, such as
	// /routeguide.RouteGuide/GetFeature, and StreamType its shape; Known
	// says whether the server serves it.
	Procedure  string
	StreamType connect.StreamType
	Known      bool
	// Protocol is connect, grpc or grpcweb, as connect-go names them, and
	// Codec the encoding of the messages, such as proto or json, from the
	// Content-Type or, for a Connect GET, the query.
	Protocol, Codec string
	// Enveloped says whether the request's messages come in envelopes
	// (gRPC, gRPC-Web, Connect streams), and EncodingHeader is then the
	// header that names their compression.
	Enveloped      bool
	EncodingHeader string
	// Timeout is the timeout the call asks for, if AskedTimeout.
	Timeout      time.Duration
	AskedTimeout bool
	// LenientJSON says the caller sent [LenientJSONHeader]: ignore
	// JSON fields the server does not know rather than refuse them.
	LenientJSON bool
	// Start is when the request's headers arrived.
	Start time.Time

	life    *callLife       // the call's lifecycle, which Classify starts
	flushes *flushCoalescer // the stream's flushes, if coalesced
}

// LenientJSONHeader is the request header by which a caller asks that JSON
// fields the server does not know be ignored, as protobuf's binary form
// ignores them, rather than refused; its value must be "ignore".
const LenientJSONHeader = "Routeguide-Json-Unknown-Fields"

type callKey struct{}

// CallOf returns the classification of the request of ctx, if it went
// through [Stack.Classify].
func CallOf(ctx context.Context) (*Call, bool) {
	c, ok := ctx.Value(callKey{}).(*Call)
	return c, ok
}

// classify works out what r is.
func classify(r *http.Request, procedures Procedures) *Call {
	c := &Call{Procedure: r.URL.Path, Start: time.Now()}
	c.StreamType, c.Known = procedures[c.Procedure]
	if v := r.Header.Get(LenientJSONHeader); v != "" {
		c.LenientJSON = strings.EqualFold(v, "ignore")
	}
	contentType := r.Header.Get("Content-Type")
	if contentType == "" && r.Method == http.MethodGet {
		c.Protocol, c.Codec = connect.ProtocolNameConnect, r.URL.Query().Get("encoding")
	} else {
		c.Protocol, c.Codec = protocolAndCodec(contentType)
	}
	c.EncodingHeader, c.Enveloped = envelopeEncoding(contentType)
	c.Timeout, c.AskedTimeout = AskedTimeout(r.Header)
	return c
}

// protocolAndCodec returns the protocol of a request as connect-go names it
// (connect, grpc or grpcweb) and the codec of its messages (such as proto
// or json), from its Content-Type. A request whose Content-Type is not one
// of an RPC has protocol connect, as connect-go treats it, and the codec the
// Content-Type names.
func protocolAndCodec(contentType string) (protocol, codec string) {
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	for _, p := range []struct{ prefix, protocol string }{
		{"application/grpc-web-text", connect.ProtocolNameGRPCWeb},
		{"application/grpc-web", connect.ProtocolNameGRPCWeb},
		{"application/grpc", connect.ProtocolNameGRPC},
		{"application/connect", connect.ProtocolNameConnect},
	} {
		if rest, ok := strings.CutPrefix(mediaType, p.prefix); ok {
			if codec, ok := strings.CutPrefix(rest, "+"); ok {
				return p.protocol, codec
			}
			if rest == "" && p.protocol != connect.ProtocolNameConnect {
				return p.protocol, connect.CodecNameProto // gRPC's default
			}
		}
	}
	return connect.ProtocolNameConnect, strings.TrimPrefix(mediaType, "application/")
}

// envelopeEncoding says whether requests of contentType carry their
// messages in envelopes (gRPC, gRPC-Web in either form and Connect
// streams), and which header names the compression of the flagged ones.
// gRPC-Web's text form is enveloped too once the translation inside the
// classification has decoded it.
func envelopeEncoding(contentType string) (header string, ok bool) {
	mediaType, _, _ := strings.Cut(strings.ToLower(contentType), ";")
	mediaType = strings.TrimSpace(mediaType)
	switch {
	case mediaType == "application/grpc" || strings.HasPrefix(mediaType, "application/grpc+"),
		strings.HasPrefix(mediaType, "application/grpc-web"):
		return "Grpc-Encoding", true
	case strings.HasPrefix(mediaType, "application/connect+"):
		return "Connect-Content-Encoding", true
	}
	return "", false
}

// Classify is the outermost layer of the stack: it works out what each
// request is, once ([Call]), and hands that inward in the request's
// context, and it starts the call's life (callLife): its deadline, and the
// watch on its reads and writes that cuts off a client that stops taking
// part. For a unary call it also grows the goroutine's stack, a fast path
// ([growStack]), while only a few frames sit above.
func (s *Stack) Classify(next http.Handler, procedures Procedures) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := classify(r, procedures)
		if c.Known && c.StreamType == connect.StreamTypeUnary && !s.noFastPath {
			growStack()
		}
		life, w, r := startLife(w, r, c, &s.limits)
		defer life.finish()
		next.ServeHTTP(w, r)
	})
}

// callOf returns the classification of r; a request that did not go
// through [Stack.Classify], as in tests of one layer, is classified now.
func callOf(r *http.Request, procedures Procedures) *Call {
	if c, ok := CallOf(r.Context()); ok {
		return c
	}
	return classify(r, procedures)
}
