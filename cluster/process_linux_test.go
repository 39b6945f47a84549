package cluster

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestStartNoticesAnotherProgramOnThePort plays the race a cluster's start
// can lose: the port is free when the process starts, and another program
// takes it before the process binds it and answers the readiness check in
// its place. Start must refuse with ErrPortTaken, naming the holder,
// rather than call the process ready (a replica so "ready" exited a moment
// later, and its cluster never came up).
func TestStartNoticesAnotherProgramOnThePort(t *testing.T) {
	t.Parallel()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := ports[0]
	var other net.Listener
	t.Cleanup(func() {
		if other != nil {
			other.Close()
		}
	})
	p := &Process{
		name: "listens-nowhere", addr: addr, path: sleep, args: []string{"60"},
		log:    filepath.Join(t.TempDir(), "log"),
		logger: slog.New(slog.DiscardHandler),
		// The other program takes the port once the process has started.
		ready: func(context.Context) error {
			other, err = net.Listen("tcp", addr)
			return err
		},
	}
	t.Cleanup(p.Kill)
	err = p.Start(t.Context())
	if !errors.Is(err, ErrPortTaken) {
		t.Fatalf("Start with the port taken by this test = %v, want %v", err, ErrPortTaken)
	}
	_, port, _ := net.SplitHostPort(addr)
	if !strings.Contains(err.Error(), port) || !strings.Contains(err.Error(), "cluster.test") {
		t.Errorf("Start's error %q does not name the port %s and its holder", err, port)
	}
	if held, known := heldBy(port, p.PID()); !known || held {
		t.Errorf("heldBy(%s, the sleeping process) = %v, %v; want false, true", port, held, known)
	}
}

// TestFreePortsAvoidTheEphemeralRange checks that the cluster's ports come
// from below the range the kernel hands to listeners on port 0 and to
// outgoing connections, any of which could otherwise take one of them.
func TestFreePortsAvoidTheEphemeralRange(t *testing.T) {
	t.Parallel()
	low, high := portsBelowEphemeral()
	if high <= low {
		t.Skip("skipping: this kernel's ephemeral range leaves too few ports below it")
	}
	addrs, err := freePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for _, addr := range addrs {
		_, port, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(port)
		if n < low || n >= high {
			t.Errorf("freePorts gave %s, want a port in [%d, %d)", addr, low, high)
		}
		if seen[addr] {
			t.Errorf("freePorts gave %s twice", addr)
		}
		seen[addr] = true
	}
}
