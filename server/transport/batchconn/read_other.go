//go:build !unix

package batchconn

import (
	"net"
	"syscall"
)

// ReadBufferSize is the size of the buffer a connection reads into on Unix
// systems. Elsewhere reads are not buffered: they go through the socket's
// own Read.
const ReadBufferSize = 4 << 10

// reader buffers reads on Unix systems only, where a read system call on
// the socket's file descriptor is portable enough to make by hand.
type reader struct{}

// newReader returns nil: reads go through the socket's own Read.
func newReader(syscall.RawConn) *reader { return nil }

func (*reader) read(c net.Conn, p []byte) (int, error) { return c.Read(p) }

func (*reader) drop() {}
