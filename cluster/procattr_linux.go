package cluster

import "syscall"

// sysProcAttr puts a child in its own process group, so that the Ctrl-C of
// a terminal reaches only the supervisor, which stops the children in order;
// and has the kernel kill the child if the supervisor dies, so that a
// crashed test leaves no servers behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
