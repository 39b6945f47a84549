//go:build unix

package main

import "syscall"

// stopProcess freezes the process pid, as a hung machine would, until
// continueProcess.
func stopProcess(pid int) error { return syscall.Kill(pid, syscall.SIGSTOP) }

// continueProcess lets a process stopProcess froze run again.
func continueProcess(pid int) error { return syscall.Kill(pid, syscall.SIGCONT) }
