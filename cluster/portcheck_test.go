package cluster_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/routeguide/routeguide/cluster"
)

func TestCheckPortsFree(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := l.Addr().String()
	l.Close()
	if err := cluster.CheckPorts(free, "127.0.0.1:0", ""); err != nil {
		t.Errorf("CheckPorts(%s, port 0, empty) = %v, want nil", free, err)
	}
}

// TestCheckPortsTaken holds a port as any program would: CheckPorts must
// name the port and, on Linux, this process.
func TestCheckPortsTaken(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = cluster.CheckPorts(l.Addr().String())
	if !errors.Is(err, cluster.ErrPortTaken) {
		t.Fatalf("CheckPorts(%s), held by this test = %v, want %v", l.Addr(), err, cluster.ErrPortTaken)
	}
	wants := []string{l.Addr().String()}
	if runtime.GOOS == "linux" {
		wants = append(wants, fmt.Sprintf("pid %d ", os.Getpid()))
	}
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CheckPorts(%s) = %q, want it to say %q", l.Addr(), err, want)
		}
	}
}

// TestStartRefusesTakenPort: Start must start nothing when the port for
// clients is taken. Its binaries do not exist, so starting anything would
// fail differently.
func TestStartRefusesTakenPort(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	missing := "/nonexistent/routeguide"
	_, err = cluster.Start(t.Context(), cluster.Config{
		Binaries: cluster.Binaries{Server: missing, NATS: missing, HAProxy: missing},
		Dir:      t.TempDir(),
		Addr:     l.Addr().String(),
	})
	if !errors.Is(err, cluster.ErrPortTaken) {
		t.Errorf("Start on a taken --addr = %v, want %v", err, cluster.ErrPortTaken)
	}
}
