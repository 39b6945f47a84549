package transport

import (
	"strings"

	"connectrpc.com/connect/v2"
)

// protocolAndCodec returns the protocol of a request as connect-go names it
// (connect, grpc or grpcweb) and the codec of its messages (such as proto
// or json), from its Content-Type, or for a Connect GET from its query. A
// request whose Content-Type is not one of an RPC has protocol connect, as
// connect-go treats it, and the codec the Content-Type names.
func protocolAndCodec(method, contentType, getEncoding string) (protocol, codec string) {
	if contentType == "" && method == "GET" {
		return connect.ProtocolNameConnect, getEncoding
	}
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
