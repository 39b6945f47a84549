package transport

import (
	"errors"
	"net"
	"sync"
	"syscall"
)

// limitListener holds further connections in the kernel's queue while max
// of those it accepted are open, as netutil.LimitListener does, but with
// connections that still offer the socket's SyscallConn and CloseWrite to
// the wrappers above them: batchconn reads through the one, and net/http
// calls the other.
type limitListener struct {
	net.Listener
	open      chan struct{} // holds a value for each open connection
	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

func limitConnections(l net.Listener, max int) net.Listener {
	return &limitListener{Listener: l, open: make(chan struct{}, max), done: make(chan struct{})}
}

// Accept waits for a connection to close while max are open, then accepts
// the next.
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

// errNoSyscallConn is SyscallConn's error when the connection has none.
var errNoSyscallConn = errors.New("connection offers no SyscallConn")

// SyscallConn returns the socket's, if it offers one.
func (c *limitedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errNoSyscallConn
}
