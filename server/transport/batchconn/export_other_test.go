//go:build !unix

package batchconn

// ReadBufferMade says whether this system's connections buffer their reads.
const ReadBufferMade = false
