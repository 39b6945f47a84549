//go:build !linux

package cluster

// portHolder says who listens on port: only Linux says it here.
func portHolder(port string) string {
	return "by a process that is looked up on Linux only"
}
