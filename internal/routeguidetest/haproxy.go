package routeguidetest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// HAProxy runs Debian's haproxy in the foreground with config, whose
// frontend binds the address FreePort gave, and returns once that address
// takes connections. It is stopped when the test ends, and its output is
// logged if the test failed. A test without haproxy in PATH is skipped.
func HAProxy(t testing.TB, config, frontend string) {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("no haproxy in PATH")
	}
	file := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "-db", "-f", file)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy:\n%s", out.Bytes())
		}
	})
	c := DialWhenListening(t, "127.0.0.1", frontend)
	c.Close()
}

// FreePort returns a loopback address free now, for a process that binds
// it itself.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// DialWhenListening connects from the loopback address from to addr once
// a process has bound it, retrying refused connections for up to 10
// seconds. The connection is closed when the test ends.
func DialWhenListening(t testing.TB, from, addr string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.DialContext(t.Context(), "tcp", addr)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after 10s: %v", addr, err)
		}
		<-tick.C
	}
}
