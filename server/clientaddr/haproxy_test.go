package clientaddr_test

import (
	"fmt"
	"testing"

	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server/clientaddr"
)

// TestBehindHAProxy runs Debian's HAProxy in front of a server that
// trusts it, as task cluster does: the server finds the client's address
// from HAProxy's PROXY v2 header, and from its X-Forwarded-For, whatever
// the client forges in its own.
func TestBehindHAProxy(t *testing.T) {
	t.Parallel()
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
			front := routeguidetest.FreePort(t)
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
			routeguidetest.HAProxy(t, cfg, front)
			// Two clients in turn: HAProxy must not hand the second's
			// calls to a connection opened for the first.
			for _, client := range []string{"127.0.0.3", "127.0.0.4", "127.0.0.3"} {
				c := routeguidetest.DialWhenListening(t, client, front)
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
