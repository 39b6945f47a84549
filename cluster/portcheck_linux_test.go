package cluster_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"

	"github.com/routeguide/routeguide/cluster"
)

// soReusePort is SO_REUSEPORT, which package syscall lacks, as Linux
// numbers it on amd64, arm64 and most other architectures; where it
// differs, the second listen below fails and the test skips.
const soReusePort = 0xf

// TestCheckPortsReusePort holds a port as HAProxy does, with SO_REUSEPORT,
// which would let a second HAProxy bind it too: CheckPorts must still
// refuse it.
func TestCheckPortsReusePort(t *testing.T) {
	t.Parallel()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var sockErr error
		err := c.Control(func(fd uintptr) {
			sockErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
		})
		return errors.Join(err, sockErr)
	}}
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// What a second HAProxy would get: a second SO_REUSEPORT listener.
	l2, err := lc.Listen(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Skipf("skipping: a second SO_REUSEPORT listener on %s: %v", l.Addr(), err)
	}
	l2.Close()
	if err := cluster.CheckPorts(l.Addr().String()); !errors.Is(err, cluster.ErrPortTaken) {
		t.Errorf("CheckPorts(%s), held with SO_REUSEPORT = %v, want %v", l.Addr(), err, cluster.ErrPortTaken)
	}
}
