package cluster

import (
	"fmt"
	"net"
)

// freePorts returns n distinct loopback addresses whose ports were free a
// moment ago. The programs of a cluster need their ports before they start,
// because each one's configuration names the others', and keep them across
// restarts, so they cannot take port 0 themselves. All n listeners stay open
// until all n are known, so no port comes back twice.
func freePorts(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}
