package server

import (
	"connectrpc.com/connect"

	"github.com/routeguide/routeguide/server/transport/vtcodec"
)

// MessageOptions returns the connect-go handler options with which a Server
// reads and sends messages under limits, zero fields taking their defaults:
// the size bounds, gzip that stops inflating at the size bound, which
// responses to compress, and binary protobuf through generated code. A program that serves
// other services through the same stack gives them these options, so that
// they read and write messages as a Server does.
func MessageOptions(limits Limits) connect.HandlerOption {
	limits = limits.withDefaults()
	return connect.WithHandlerOptions(
		connect.WithReadMaxBytes(limits.MaxMessageBytes),
		connect.WithSendMaxBytes(limits.MaxMessageBytes),
		connect.WithCompressMinBytes(compressMinBytes),
		withBoundedGzip(limits.MaxMessageBytes),
		// Messages encoded by generated code rather than by reflection;
		// the same bytes.
		vtcodec.Option(),
	)
}
