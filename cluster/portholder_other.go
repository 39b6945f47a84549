//go:build !linux

package cluster

// portHolder says who listens on port: only Linux says it here.
func portHolder(port string) string {
	return "by a process that is looked up on Linux only"
}

// heldBy cannot know who listens on a port: only Linux says it here.
func heldBy(port string, pid int) (held, known bool) {
	return false, false
}
