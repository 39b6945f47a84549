package transport

import (
	"net"
	"net/http"
	"time"

	"github.com/routeguide/routeguide/server/internal/defaults"
	"github.com/routeguide/routeguide/server/transport/batchconn"
)

// ConnLimits bound what clients can make an [http.Server] hold at the level
// of connections. A zero field takes its default, so the zero ConnLimits is
// the safe one.
type ConnLimits struct {
	// MaxConnections is how many connections may be open at once; more
	// wait in the kernel's queue to be accepted. Default 10,000.
	MaxConnections int
	// MaxConcurrentStreams is how many calls one HTTP/2 connection may
	// have in progress. Default 250.
	MaxConcurrentStreams int
	// MaxHeaderBytes is the largest request header block. Default 64 KiB.
	MaxHeaderBytes int
	// ConnReceiveWindow is the most request data, in bytes, an HTTP/2
	// connection may have sent that its handlers have not read yet: its
	// flow-control window. A client that stops reading its responses makes
	// its handlers stop reading too, and the server holds up to this much
	// for it until the write timeout resets its streams, so the worst case
	// is MaxConnections times this. At least 64 KiB; default 128 KiB
	// (1.25 GiB at the default connection cap).
	ConnReceiveWindow int
	// StreamReceiveWindow is the same bound for one stream (call). At most
	// ConnReceiveWindow; default 64 KiB, which carries a message of the
	// default 4 MiB limit in 64 round trips.
	StreamReceiveWindow int
	// ReadHeaderTimeout is how long a client has to send a request's
	// headers. Default 10 seconds.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a connection with no call in progress after this
	// long. Default 2 minutes.
	IdleTimeout time.Duration
	// PingInterval pings an HTTP/2 connection that has been silent this
	// long. Default 1 minute.
	PingInterval time.Duration
	// PingTimeout closes an HTTP/2 connection whose ping is not answered in
	// this long. Default 20 seconds.
	PingTimeout time.Duration
	// WriteTimeout closes a connection when a write to it makes no progress
	// this long. Default 30 seconds.
	WriteTimeout time.Duration
}

// WithDefaults returns l with every zero field set to its default.
func (l ConnLimits) WithDefaults() ConnLimits {
	defaults.Set(&l.MaxConnections, 10_000)
	defaults.Set(&l.MaxConcurrentStreams, 250)
	defaults.Set(&l.MaxHeaderBytes, 64<<10)
	defaults.Set(&l.ConnReceiveWindow, 128<<10)
	defaults.Set(&l.StreamReceiveWindow, min(64<<10, l.ConnReceiveWindow))
	defaults.Set(&l.ReadHeaderTimeout, 10*time.Second)
	defaults.Set(&l.IdleTimeout, 2*time.Minute)
	defaults.Set(&l.PingInterval, time.Minute)
	defaults.Set(&l.PingTimeout, 20*time.Second)
	defaults.Set(&l.WriteTimeout, 30*time.Second)
	return l
}

// NewHTTPServer returns an [http.Server] for handler with l applied, that
// serves HTTP/1.1 and HTTP/2: over TLS when the caller sets TLSConfig and
// serves with ServeTLS, and otherwise without TLS (h2c, prior knowledge).
func NewHTTPServer(handler http.Handler, l ConnLimits, tls bool) *http.Server {
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
// while l.MaxConnections are open, and gathers the writes to each
// connection made while one is on its way to the socket into one system
// call ([batchconn]), with l.WriteTimeout for each. net/http's HTTP/2
// server flushes whenever its queue of frames runs dry, a system call or
// more per response; through this listener, frames from many streams share
// them, as in grpc-go's transport. The write deadlines that
// [NewHTTPServer]'s WriteByteTimeout sets around every write then cost a
// lock instead of a change to the socket's timer. Reads go through
// batchconn's buffer too, which takes in a burst of small frames in one
// system call where the server would make two for each; for that, the
// connections of listener must offer their socket's SyscallConn, as
// *net.TCPConn does, and the connection limit passes it on.
func Listener(listener net.Listener, l ConnLimits) net.Listener {
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
func PlainListener(listener net.Listener, l ConnLimits) net.Listener {
	return limitConnections(listener, l.WithDefaults().MaxConnections)
}
