package main

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

// TestPortTaken runs routeguide-cluster on ports that another program
// holds: it must refuse at once, before it builds anything, and say which
// ports and who holds them.
func TestPortTaken(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	stats, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Close()
	idp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	var stdout, stderr strings.Builder
	err = run(t.Context(), []string{"--addr", l.Addr().String(), "--stats-addr", stats.Addr().String(), "--idp-addr", idp.Addr().String()}, &stdout, &stderr)
	if !errors.Is(err, cluster.ErrPortTaken) {
		t.Fatalf("run on taken ports = %v, want %v", err, cluster.ErrPortTaken)
	}
	wants := []string{l.Addr().String(), stats.Addr().String(), idp.Addr().String(), "--idp-addr"}
	if runtime.GOOS == "linux" {
		wants = append(wants, fmt.Sprintf("pid %d ", os.Getpid()))
	}
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("run on taken ports = %q, want it to say %q", err, want)
		}
	}
	if strings.Contains(stderr.String(), "building") {
		t.Errorf("run on taken ports built first:\n%s", stderr.String())
	}
}
