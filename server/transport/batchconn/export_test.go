package batchconn

import "net"

// ReadsBuffered reports whether c, a connection from NewConn, reads
// through a buffer of its own.
func ReadsBuffered(c net.Conn) bool {
	return c.(*conn).reader != nil
}
