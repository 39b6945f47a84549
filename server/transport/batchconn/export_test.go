package batchconn

import "net"

// HoldsReadBuffer reports whether c, a connection from NewConn, holds a
// read buffer.
func HoldsReadBuffer(c net.Conn) bool {
	r := c.(*conn).reader
	return r != nil && r.buf.Load() != nil
}

// ReadsBuffered reports whether c, a connection from NewConn, reads
// through a buffer of its own.
func ReadsBuffered(c net.Conn) bool {
	return c.(*conn).reader != nil
}
