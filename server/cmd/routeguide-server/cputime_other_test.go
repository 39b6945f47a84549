//go:build !unix

package main

import "time"

// cpuTime returns 0: getrusage is a Unix call, and the CPU time only goes
// into the logs of the hostile-client tests.
func cpuTime() time.Duration { return 0 }
