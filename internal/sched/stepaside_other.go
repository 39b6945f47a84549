//go:build !unix

package sched

import "runtime"

// StepAside lets the goroutines that are ready to run go before the
// caller. The unix version also lets those that the network has made
// ready go first.
func StepAside() {
	runtime.Gosched()
}
