//go:build !unix

package cluster

import "syscall"

// sysProcAttr is nil outside Unix: there are no process groups to put a
// child in, and the cluster stops its children itself.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
