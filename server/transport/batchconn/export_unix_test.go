//go:build unix

package batchconn

import "net"

// HoldsReadBuffer reports whether c, a connection from NewConn, holds a
// read buffer.
func HoldsReadBuffer(c net.Conn) bool {
	r := c.(*conn).reader
	return r != nil && r.buf.Load() != nil
}

// ReadBufferMade says whether this system's connections buffer their reads.
const ReadBufferMade = true
