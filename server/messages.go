package server

import (
	"context"

	"connectrpc.com/connect/v2/connecthttp"

	"github.com/routeguide/routeguide/server/jsoncodec"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/transport"
	"github.com/routeguide/routeguide/server/transport/prepared"
	"github.com/routeguide/routeguide/server/transport/vtcodec"
)

// MessageOptions returns the connect-go options with which a Server reads
// and sends messages under l, zero fields taking their defaults: the
// size bounds, which responses to compress, binary protobuf through
// generated code and JSON strict about field names. connect-go's gzip stops inflating a message once it is
// past the size bound.
func MessageOptions(l limits.Limits) []connecthttp.Option {
	l = l.WithDefaults()
	return []connecthttp.Option{
		connecthttp.WithReadMaxBytes(l.MaxMessageBytes),
		connecthttp.WithSendMaxBytes(l.MaxMessageBytes),
		connecthttp.WithCompressMinBytes(compressMinBytes),
		// Binary messages encoded by generated code rather than by
		// reflection, the same bytes; JSON that refuses fields it does not
		// know rather than dropping them. A message a handler prepared,
		// such as a note for many watchers, is written as it was encoded
		// once.
		connecthttp.WithCodecs(prepared.Codec(vtcodec.Codec{}), prepared.Codec(jsoncodec.New(asksLenientJSON,
			"send "+transport.LenientJSONHeader+": ignore"))),
	}
}

// asksLenientJSON reports whether the call of ctx asked for JSON fields the
// server does not know to be ignored.
func asksLenientJSON(ctx context.Context) bool {
	c, ok := transport.CallOf(ctx)
	return ok && c.LenientJSON
}

// compressMinBytes is the smallest response message the server compresses
// when the client accepts compression. connect-go compresses every message
// by default, and its clients offer gzip by default, but a RouteGuide
// message is tens of bytes: gzip makes it no smaller and, by resetting a
// compressor per message, made each RouteChat reply cost ten times the CPU
// of the grpc-go reference's uncompressed one.
const compressMinBytes = 1024
