package transport

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"

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
// path, with l.WriteTimeout. Buffered reads need the connections of
// listener to offer the socket's SyscallConn, as *net.TCPConn does.
//
// The connections then time every write to the socket themselves, and
// close once one makes no progress for l.WriteTimeout. s, the server that
// will serve them, has its WriteByteTimeout turned off: it would time the
// same writes again, with a clock reading and two write deadlines around
// every flush, about 2% of the CPU of a note delivered to a thousand
// watchers (BENCHMARKS.md, "Watchers and fan-out: round eight").
func Listener(listener net.Listener, l limits.Limits, s *http.Server) net.Listener {
	if batchconnOff {
		return PlainListener(listener, l)
	}
	if s.HTTP2 != nil {
		s.HTTP2.WriteByteTimeout = 0
	}
	return batchconn.NewListener(PlainListener(listener, l), batchconn.Options{WriteTimeout: l.WithDefaults().WriteTimeout})
}

// PlainListener is [Listener] without batchconn, a fast path: the
// connection limit alone, for diagnosis.
func PlainListener(listener net.Listener, l limits.Limits) net.Listener {
	return &limitListener{Listener: listener, open: make(chan struct{}, l.WithDefaults().MaxConnections), done: make(chan struct{})}
}

// limitListener holds further connections in the kernel's queue while
// cap(open) of those it accepted are open, as netutil.LimitListener does,
// but with connections that still offer the socket's SyscallConn, which
// batchconn reads through, and CloseWrite, which net/http calls.
type limitListener struct {
	net.Listener
	open      chan struct{} // holds a value for each open connection
	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

// Accept waits for a connection to close while cap(open) are open, then
// accepts the next.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.open <- struct{}{}:
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: l.Addr().Network(), Addr: l.Addr(), Err: net.ErrClosed}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.open
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.open }}, nil
}

// Close closes the listener, ending an Accept waiting for a connection to
// close.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitedConn struct {
	net.Conn
	releaseOnce sync.Once
	release     func()
}

// Close closes the connection and makes room for another.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.releaseOnce.Do(c.release)
	return err
}

// CloseWrite shuts down the writing side of the socket, if it has one.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// SyscallConn returns the socket's, if it offers one.
func (c *limitedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("connection offers no SyscallConn")
}
