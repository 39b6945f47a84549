package cluster

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// portHolder says which processes listen on TCP port, as "pid 123
// haproxy", from /proc: the sockets that listen on the port in
// /proc/net/tcp and tcp6, then the processes that hold those sockets among
// their file descriptors. Another user's processes cannot be read, which
// it says.
func portHolder(port string) string {
	n, err := strconv.Atoi(port)
	if err != nil {
		return "by an unknown process"
	}
	inodes := make(map[string]bool)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		listeningInodes(table, n, inodes)
	}
	if len(inodes) == 0 {
		return "by a process /proc/net does not show"
	}
	var holders []string
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, proc := range procs {
		fds, err := os.ReadDir(filepath.Join(proc, "fd"))
		if err != nil {
			continue // gone, or another user's
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(proc, "fd", fd.Name()))
			if err != nil {
				continue
			}
			inode, ok := strings.CutPrefix(link, "socket:[")
			if !ok || !inodes[strings.TrimSuffix(inode, "]")] {
				continue
			}
			comm, _ := os.ReadFile(filepath.Join(proc, "comm"))
			holders = append(holders, fmt.Sprintf("pid %s %s", filepath.Base(proc), strings.TrimSpace(string(comm))))
			break
		}
	}
	if len(holders) == 0 {
		return "by a process of another user"
	}
	return "by " + strings.Join(holders, ", ")
}

// listeningInodes adds to inodes the socket inodes that table, in the
// format of /proc/net/tcp, lists as listening on port.
func listeningInodes(table string, port int, inodes map[string]bool) {
	f, err := os.Open(table)
	if err != nil {
		return
	}
	defer f.Close()
	const listen = "0A"
	scanner := bufio.NewScanner(f)
	scanner.Scan() // the header
	for scanner.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(scanner.Text())
		if len(fields) < 10 || fields[3] != listen {
			continue
		}
		_, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
			inodes[fields[9]] = true
		}
	}
}
