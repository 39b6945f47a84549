//go:build !linux

package cluster

// portsBelowEphemeral returns an empty range: only on Linux is the kernel's
// ephemeral range read here, so elsewhere [freePorts] takes ports the
// kernel picks.
func portsBelowEphemeral() (low, high int) { return 0, 0 }
