package transport

import (
	"context"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/server/grpcwebtext"
)

// Call is what [Stack.Classify] works out about a request once, for every
// layer inside to read with [CallOf] rather than look it up again.
type Call struct {
	// Procedure is the request's path, such as
	// /routeguide.RouteGuide/GetFeature, and StreamType its shape; Known
	// says whether the server serves it, and Writes whether it changes
	// what the server stores ([Procedure.Writes]).
	Procedure  string
	StreamType connect.StreamType
	Known      bool
	Writes     bool
	// Protocol is connect, grpc or grpcweb, as connect-go names them, and
	// Codec the encoding of the messages, such as proto or json, from the
	// Content-Type or, for a Connect GET, the query.
	Protocol, Codec string
	// Enveloped says whether the request's messages come in envelopes
	// (gRPC, gRPC-Web, Connect streams), and Encoding is the compression
	// the request names, if any, in the header of its protocol.
	Enveloped bool
	Encoding  string
	// Text says the call is gRPC-Web in its text form, or asks for a
	// response in it, which the stack translates for connect-go.
	Text bool
	// Timeout is the timeout the call asks for, if AskedTimeout.
	Timeout      time.Duration
	AskedTimeout bool
	// LenientJSON says the caller sent [LenientJSONHeader]: ignore
	// JSON fields the server does not know rather than refuse them.
	LenientJSON bool
	// Start is when the request's headers arrived.
	Start time.Time

	mediaType  string          // of the Content-Type, in lower case, without parameters
	timeoutErr error           // the answer to a timeout header that cannot be read
	procedure  *Procedure      // the table's entry; nil if not Known
	life       *callLife       // the call's lifecycle, which Classify starts
	flushes    *flushCoalescer // the stream's flushes, if coalesced
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
	if p := procedures[c.Procedure]; p != nil {
		c.procedure, c.Known, c.StreamType, c.Writes = p, true, p.StreamType, p.Writes
	}
	c.LenientJSON = strings.EqualFold(r.Header.Get(LenientJSONHeader), "ignore")
	contentType := r.Header.Get("Content-Type")
	mediaType := mediaTypeOf(contentType)
	c.mediaType = mediaType
	if contentType == "" && r.Method == http.MethodGet {
		c.Protocol, c.Codec = connect.ProtocolNameConnect, r.URL.Query().Get("encoding")
	} else {
		c.Protocol, c.Codec = protocolAndCodec(mediaType)
	}
	if header := envelopeEncoding(mediaType); header != "" {
		c.Enveloped, c.Encoding = true, r.Header.Get(header)
	} else if r.Method != http.MethodGet {
		c.Encoding = r.Header.Get("Content-Encoding") // Connect unary
	}
	c.Text = strings.HasPrefix(mediaType, "application/grpc-web-text") ||
		c.Protocol == connect.ProtocolNameGRPCWeb && grpcwebtext.AcceptsText(r.Header)
	c.Timeout, c.AskedTimeout, c.timeoutErr = askedTimeout(r.Header, c.Protocol)
	return c
}

// mediaTypeOf returns the media type of a Content-Type, in lower case and
// without parameters.
func mediaTypeOf(contentType string) string {
	mediaType, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mediaType))
}

// protocolAndCodec returns the protocol of a request as connect-go names it
// and the codec of its messages, from its Content-Type's media type. Any
// other type is Connect's, as connect-go treats it, with the codec it names.
func protocolAndCodec(mediaType string) (protocol, codec string) {
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

// envelopeEncoding returns the header that names the compression of the
// messages of a request of mediaType, if they come in envelopes (gRPC,
// gRPC-Web in either form once decoded, and Connect streams), or "".
func envelopeEncoding(mediaType string) (header string) {
	switch {
	case mediaType == "application/grpc" || strings.HasPrefix(mediaType, "application/grpc+"),
		strings.HasPrefix(mediaType, "application/grpc-web"):
		return "Grpc-Encoding"
	case strings.HasPrefix(mediaType, "application/connect+"):
		return "Connect-Content-Encoding"
	}
	return ""
}

// Classify is the outermost layer of the stack: it works out what each
// request is ([Call]), hands that inward in the request's context, and
// starts the call's life (callLife). For a unary call it also grows the
// goroutine's stack, a fast path ([growStack]).
func (s *Stack) Classify(next http.Handler, procedures Procedures) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := classify(r, procedures)
		if c.Known && c.StreamType == connect.StreamTypeUnary && !s.noFastPath && !growStackOff {
			growStack()
		}
		life, w, r := startLife(w, r, c, &s.limits)
		defer life.finish()
		next.ServeHTTP(w, r)
	})
}

// Procedure is what the table of procedures knows of one.
type Procedure struct {
	// StreamType is its shape.
	StreamType connect.StreamType
	// Writes says its calls change what the server stores, so that who
	// makes them matters (a gate may want to know them, [Gate]).
	Writes bool
	// EndsThroughLife says its handler learns of its call's deadline and
	// of the server's drain through [OnEnd], which it must call before it
	// waits, rather than its context. A call of it that asks for no
	// timeout keeps net/http's context, with no deadline or cancel of the
	// server's: those cost each open stream about 0.6 KiB (the context,
	// its timer, its parent's map of children), most of an idle watch of
	// notes beside net/http's own.
	EndsThroughLife bool

	handler http.Handler // connect-go's, mounted through [Procedures.Mux]
}

// Procedures maps the path of every procedure a server mounts, such as
// "/routeguide.RouteGuide/GetFeature", to what it is. [Stack.Classify]
// looks a request's path up in it, once.
type Procedures map[string]*Procedure

// ProceduresOf returns the table of every procedure registered on server;
// writes says which change what the server stores, and may be nil for none.
func ProceduresOf(server *connect.Server, writes func(procedure string) bool) Procedures {
	table := make(Procedures)
	for spec := range server.Specs() {
		table[spec.Procedure] = &Procedure{StreamType: spec.StreamType, Writes: writes != nil && writes(spec.Procedure)}
	}
	return table
}

// Mux returns the mux for connecthttp.Mount to mount the procedures of the
// table on: each procedure's handler goes into its entry, and every other
// pattern (connect-go's answer to unknown methods of a service) to
// fallback.
func (p Procedures) Mux(fallback *http.ServeMux) connecthttp.ServeMux {
	return procedureMux{p, fallback}
}

type procedureMux struct {
	procedures Procedures
	fallback   *http.ServeMux
}

func (m procedureMux) Handle(pattern string, handler http.Handler) {
	if p, ok := m.procedures[pattern]; ok {
		p.handler = handler
		return
	}
	m.fallback.Handle(pattern, handler)
}
