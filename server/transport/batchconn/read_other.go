//go:build !unix

package batchconn

import (
	"net"
	"syscall"
)

// reader buffers reads on Unix systems only, where a read system call on
// the socket's file descriptor is portable enough to make by hand.
type reader struct{}

// newReader returns nil: reads go through the socket's own Read.
func newReader(syscall.RawConn) *reader { return nil }

func (*reader) read(c net.Conn, p []byte) (int, error) { return c.Read(p) }

func (*reader) drop() {}
