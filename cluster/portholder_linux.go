package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// portHolder says which processes listen on TCP port, as "pid 123
// haproxy". Another user's processes cannot be read, which it says.
func portHolder(port string) string {
	holders, err := listeners(port)
	if err != nil {
		return err.Error()
	}
	var names []string
	for _, h := range holders {
		names = append(names, fmt.Sprintf("pid %d %s", h.pid, h.comm))
	}
	return "by " + strings.Join(names, ", ")
}

// heldBy reports whether the process pid listens on TCP port, and whether
// that can be known here.
func heldBy(port string, pid int) (held, known bool) {
	holders, err := listeners(port)
	if err != nil {
		return false, true
	}
	return slices.ContainsFunc(holders, func(h listener) bool { return h.pid == pid }), true
}

// A listener is a process that listens on a port.
type listener struct {
	pid  int
	comm string // its command's name
}

// listeners returns the processes that listen on TCP port, from /proc: the
// sockets that listen on the port in /proc/net/tcp and tcp6, then the
// processes that hold those sockets among their file descriptors. Its
// error says why it found none.
func listeners(port string) ([]listener, error) {
	n, err := strconv.Atoi(port)
	if err != nil {
		return nil, errors.New("by an unknown process")
	}
	inodes := make(map[string]bool)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		listeningInodes(table, n, inodes)
	}
	if len(inodes) == 0 {
		return nil, errors.New("by a process /proc/net does not show")
	}
	var found []listener
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, proc := range procs {
		pid, err := strconv.Atoi(filepath.Base(proc))
		if err != nil {
			continue
		}
		if holdsSocket(proc, inodes) {
			comm, _ := os.ReadFile(filepath.Join(proc, "comm"))
			found = append(found, listener{pid: pid, comm: strings.TrimSpace(string(comm))})
		}
	}
	if len(found) == 0 {
		return nil, errors.New("by a process of another user")
	}
	return found, nil
}

// holdsSocket reports whether the process whose /proc directory is proc
// holds one of the sockets inodes among its file descriptors.
func holdsSocket(proc string, inodes map[string]bool) bool {
	fds, err := os.ReadDir(filepath.Join(proc, "fd"))
	if err != nil {
		return false // gone, or another user's
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(proc, "fd", fd.Name()))
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
			return true
		}
	}
	return false
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
