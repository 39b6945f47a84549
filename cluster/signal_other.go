//go:build !unix

package cluster

import (
	"os"
	"syscall"
)

// haproxyStop is the signal that stops HAProxy. Elsewhere than on Unix
// there are no signals to ask a process to stop (see signalProcess); the
// value only keeps the code the same.
const haproxyStop = syscall.SIGTERM

// signalProcess ends p: an os.Process outside Unix can only be killed, so
// a stop there is a kill and ends calls in progress.
func signalProcess(p *os.Process, _ syscall.Signal) error {
	return p.Kill()
}
