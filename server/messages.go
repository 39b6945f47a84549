package server

import "connectrpc.com/connect"

// MessageOptions returns the connect-go handler options with which a Server
// reads and sends messages under limits, zero fields taking their defaults:
// the size bounds, and which responses to compress. A program that serves
// other services through the same stack gives them these options, so that
// they read and write messages as a Server does.
func MessageOptions(limits Limits) connect.HandlerOption {
	limits = limits.withDefaults()
	return connect.WithHandlerOptions(
		connect.WithReadMaxBytes(limits.MaxMessageBytes),
		connect.WithSendMaxBytes(limits.MaxMessageBytes),
		connect.WithCompressMinBytes(compressMinBytes),
	)
}
