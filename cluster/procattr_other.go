//go:build unix && !linux

package cluster

import "syscall"

// sysProcAttr puts a child in its own process group, so that the Ctrl-C of
// a terminal reaches only the supervisor, which stops the children in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
