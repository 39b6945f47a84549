package transport

import (
	"net"
	"net/http"

	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/transport/batchconn"
)

// NewHTTPServer returns an [http.Server] for handler under the connection
// limits of l (MaxConcurrentStreams, MaxHeaderBytes, the receive windows,
// ReadHeaderTimeout, IdleTimeout, the pings and WriteTimeout), zero fields
// taking their defaults, that serves HTTP/1.1 and HTTP/2: over TLS when
// the caller sets TLSConfig and serves with ServeTLS, and otherwise
// without TLS (h2c, prior knowledge).
func NewHTTPServer(handler http.Handler, l limits.Limits, tls bool) *http.Server {
	l = l.WithDefaults()
	s := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		// No ReadTimeout or WriteTimeout: they would cut long streams off.
		// The per-stream idle and write timeouts of the Stack take their
		// place.
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams: l.MaxConcurrentStreams,
			// The smallest frame size HTTP/2 allows, as grpc-go's server
			// uses: a client cannot make a connection hold a larger read
			// buffer, and clients that assume the protocol's default get
			// the error they expect when they exceed it.
			MaxReadFrameSize: 16 << 10,
			// Go's defaults, 1 MiB each, let a client that never reads
			// its responses park about 1 MiB of requests per connection.
			MaxReceiveBufferPerConnection: l.ConnReceiveWindow,
			MaxReceiveBufferPerStream:     l.StreamReceiveWindow,
			SendPingTimeout:               l.PingInterval,
			PingTimeout:                   l.PingTimeout,
			WriteByteTimeout:              l.WriteTimeout,
		},
		Protocols: new(http.Protocols),
	}
	s.Protocols.SetHTTP1(true)
	if tls {
		s.Protocols.SetHTTP2(true)
	} else {
		s.Protocols.SetUnencryptedHTTP2(true)
	}
	return s
}

// Listener makes listener hold further connections in the kernel's queue
// while l.MaxConnections are open, and wraps each in [batchconn], a fast
// path, with l.WriteTimeout: the writes made while one is on its way to the
// socket share a system call, and a burst of small frames is read in one.
// The write deadlines that [NewHTTPServer]'s WriteByteTimeout sets around
// every write then cost a lock instead of a change to the socket's timer.
// Buffered reads need the socket's SyscallConn, which the connections of
// listener must offer, as *net.TCPConn does; the connection limit passes
// it on.
func Listener(listener net.Listener, l limits.Limits) net.Listener {
	if batchconnOff {
		return PlainListener(listener, l)
	}
	l = l.WithDefaults()
	limited := limitConnections(listener, l.MaxConnections)
	return batchconn.NewListener(limited, batchconn.Options{WriteTimeout: l.WriteTimeout})
}

// PlainListener is [Listener] without batchconn, a fast path: the
// connection limit alone, each write and read a system call of its own, as
// net/http makes them. It is for diagnosis.
func PlainListener(listener net.Listener, l limits.Limits) net.Listener {
	return limitConnections(listener, l.WithDefaults().MaxConnections)
}
