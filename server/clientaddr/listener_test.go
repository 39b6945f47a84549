package clientaddr_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/routeguide/routeguide/server/clientaddr"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a server or a connection leaves a
// goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// serve runs an HTTP server on 127.0.0.1, its listener wrapped by trusted,
// that answers every request with the client address it finds.
func serve(t *testing.T, trusted *clientaddr.Trusted) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "peer=%s client=%s", parseHost(r.RemoteAddr), trusted.ClientAddr(r.RemoteAddr, r.Header))
		}),
		ReadHeaderTimeout: 10 * time.Second,
		Protocols:         new(http.Protocols),
	}
	// HTTP/1 and HTTP/2 without TLS, as the RouteGuide server serves them.
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(trusted.Listener(l)) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return l.Addr().String()
}

func parseHost(hostport string) string {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return "?" + hostport
	}
	return ap.Addr().String()
}

// dialFrom connects to addr from the loopback address from, skipping the
// test where the system gives loopback only one address.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	c, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		if strings.Contains(err.Error(), "assign requested address") {
			t.Skipf("cannot dial from %s: %v", from, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends a request on c after prefix and returns the answer's body, or
// the error that ended the connection.
func get(t *testing.T, c net.Conn, prefix []byte, header string) (string, error) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := append(prefix, "GET / HTTP/1.1\r\nHost: x\r\n"+header+"Connection: close\r\n\r\n"...)
	if _, err := c.Write(req); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// proxyHeader is a PROXY header of the given version from client to the
// server.
func proxyHeader(t *testing.T, version byte, client string) []byte {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(version,
		net.TCPAddrFromAddrPort(netip.MustParseAddrPort(client)),
		net.TCPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:443")))
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestListener(t *testing.T) {
	t.Parallel()
	trusted, err := clientaddr.ParseTrusted("127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, trusted)
	tests := []struct {
		name   string
		from   string
		prefix []byte
		header string
		want   string // the body, or "" for a connection closed unanswered
	}{
		{"trusted, PROXY v2", "127.0.0.2", proxyHeader(t, 2, "203.0.113.7:4000"), "", "peer=203.0.113.7 client=203.0.113.7"},
		{"trusted, PROXY v2, IPv6", "127.0.0.2", proxyHeader(t, 2, "[2001:db8::7]:4000"), "", "peer=2001:db8::7 client=2001:db8::7"},
		{"trusted, no header", "127.0.0.2", nil, "", "peer=127.0.0.2 client=127.0.0.2"},
		{"trusted, X-Forwarded-For", "127.0.0.2", nil, "X-Forwarded-For: 6.6.6.6, 203.0.113.8\r\n", "peer=127.0.0.2 client=203.0.113.8"},
		{"trusted, PROXY v1", "127.0.0.2", proxyHeader(t, 1, "203.0.113.7:4000"), "", ""},
		{"untrusted, PROXY v2", "127.0.0.1", proxyHeader(t, 2, "203.0.113.7:4000"), "", ""},
		{"untrusted, PROXY v1", "127.0.0.1", proxyHeader(t, 1, "203.0.113.7:4000"), "", ""},
		{"untrusted, X-Forwarded-For", "127.0.0.1", nil, "X-Forwarded-For: 203.0.113.8\r\n", "peer=127.0.0.1 client=127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := get(t, dialFrom(t, tt.from, addr), tt.prefix, tt.header)
			if tt.want == "" {
				if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("answered %q, %v; want the connection closed", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestNoTrustedProxies: without trusted proxies the listener is the
// server's own, and a PROXY header is a bad request.
func TestNoTrustedProxies(t *testing.T) {
	t.Parallel()
	addr := serve(t, nil)
	c := dialFrom(t, "127.0.0.1", addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(append(proxyHeader(t, 2, "203.0.113.7:4000"), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"...)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %s, want 400", resp.Status)
	}
}
