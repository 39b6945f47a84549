//go:build unix

package cluster

import (
	"os"
	"syscall"
)

// haproxyStop is the signal that stops HAProxy gracefully: SIGTERM would
// cut every call off; SIGUSR1 stops it taking new ones and waits
// (hard-stop-after) for those in progress.
const haproxyStop = syscall.SIGUSR1

// signalProcess sends sig to p.
func signalProcess(p *os.Process, sig syscall.Signal) error {
	return p.Signal(sig)
}
