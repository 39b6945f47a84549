//go:build !unix

package main

import "errors"

// errNoStop says that the stop fault needs Unix signals.
var errNoStop = errors.New("the stop fault needs SIGSTOP and SIGCONT, which only Unix has: use -faults kill")

func stopProcess(int) error     { return errNoStop }
func continueProcess(int) error { return errNoStop }
