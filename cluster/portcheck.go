package cluster

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// ErrPortTaken is the error of [CheckPorts] and [Start] when a port the
// cluster needs is in use.
var ErrPortTaken = errors.New("port in use")

// CheckPorts returns an error that names every address of addrs that a
// process already listens on, and that process where it can be found.
// Addresses with port 0, or empty, are skipped: the kernel picks those.
//
// A cluster must probe its fixed ports itself before it starts anything:
// HAProxy binds with SO_REUSEPORT, so a second HAProxy on the same port
// would start without a word and share the port with the first, and
// clients would see two clusters behind one address. A plain listen, as
// here, fails on a port held by any socket, SO_REUSEPORT or not.
func CheckPorts(addrs ...string) error {
	var taken []string
	for _, addr := range addrs {
		if addr == "" || strings.HasSuffix(addr, ":0") {
			continue
		}
		l, err := net.Listen("tcp", addr)
		if err == nil {
			l.Close()
			continue
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("check port %s: %w", addr, err)
		}
		_, port, _ := net.SplitHostPort(addr)
		taken = append(taken, fmt.Sprintf("%s %s", addr, portHolder(port)))
	}
	if len(taken) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrPortTaken, strings.Join(taken, "; "))
}
