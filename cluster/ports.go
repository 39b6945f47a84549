package cluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
)

// freePorts returns n distinct loopback addresses whose ports were free a
// moment ago. The programs of a cluster need their ports before they start,
// because each one's configuration names the others', and keep them across
// restarts, so they cannot take port 0 themselves. All n listeners stay open
// until all n are known, so no port comes back twice.
//
// The ports come from below the kernel's ephemeral range where it is known:
// the kernel hands ports from that range to every listener on port 0 and
// every outgoing connection on the machine, any of which could take a port
// between its choice here and its program's start. Only another cluster
// choosing at the same moment can, below it.
func freePorts(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	low, high := portsBelowEphemeral()
	for tries := 0; len(addrs) < n; tries++ {
		port := 0
		if high > low && tries < 100*n {
			port = low + rand.N(high-low)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			if port != 0 {
				continue // taken: draw another
			}
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}
