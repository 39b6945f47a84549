package cluster

import (
	"fmt"
	"os"
)

// portsBelowEphemeral returns the range [low, high) of ports below the
// kernel's ephemeral range, from which [freePorts] draws, or an empty
// range when the ephemeral range cannot be read or leaves too few below
// it.
func portsBelowEphemeral() (low, high int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0
	}
	var first, last int
	if _, err := fmt.Sscan(string(b), &first, &last); err != nil {
		return 0, 0
	}
	// Ports below 10000 are where other services tend to be configured.
	const floor = 10000
	if first-floor < 1000 {
		return 0, 0
	}
	return floor, first
}
