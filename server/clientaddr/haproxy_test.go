package clientaddr_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/routeguide/routeguide/server/clientaddr"
)

// TestBehindHAProxy runs Debian's HAProxy in front of a server that
// trusts it, as task cluster does: the server finds the client's address
// from HAProxy's PROXY v2 header, and from its X-Forwarded-For, whatever
// the client forges in its own.
func TestBehindHAProxy(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("no haproxy in PATH")
	}
	trusted, err := clientaddr.ParseTrusted("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	server := serve(t, trusted)
	for _, mode := range []struct{ name, server string }{
		{"send-proxy-v2", "send-proxy-v2"},
		{"send-proxy-v2 over h2", "proto h2 send-proxy-v2"},
		{"forwardfor", ""},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			front := freePort(t)
			forwardfor := ""
			if mode.server == "" {
				forwardfor = "option forwardfor"
			}
			cfg := fmt.Sprintf(`global
    log stdout format raw local0 info
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    %s
frontend f
    bind %s
    default_backend b
backend b
    server s %s %s
`, forwardfor, front, server, mode.server)
			file := filepath.Join(t.TempDir(), "haproxy.cfg")
			if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
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
			// Two clients in turn: HAProxy must not hand the second's
			// calls to a connection opened for the first.
			for _, client := range []string{"127.0.0.3", "127.0.0.4", "127.0.0.3"} {
				c := dialWhenListening(t, client, front)
				got, err := get(t, c, nil, "X-Forwarded-For: 6.6.6.6\r\n")
				if err != nil {
					t.Fatal(err)
				}
				want := "peer=" + client + " client=" + client
				if mode.server == "" {
					want = "peer=127.0.0.1 client=" + client
				}
				if got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			}
		})
	}
}

// freePort returns a loopback address free now, for a process that binds
// it itself.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// dialWhenListening connects from from to addr once a process has bound
// it, retrying refused connections for up to 10 seconds.
func dialWhenListening(t *testing.T, from, addr string) net.Conn {
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
