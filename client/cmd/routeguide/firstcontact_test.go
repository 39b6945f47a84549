package main

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
)

// The mistakes and habits of a first session with the command, each run
// through run as a user would type it.

func TestAddressWithoutPortDialsDefaultPort(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("needs the whole of 127.0.0.0/8 on loopback, as Linux has it")
	}
	// Port 50051 of 127.0.0.1 may be taken by a server someone is running,
	// and this test may run in several checkouts at once: a random loopback
	// address's is free.
	var host string
	var listener net.Listener
	var err error
	for range 10 {
		host = fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
		if listener, err = net.Listen("tcp", net.JoinHostPort(host, defaultPort)); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(features)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.Listener.Close()
	ts.Listener = listener
	ts.Config.Protocols = new(http.Protocols)
	ts.Config.Protocols.SetUnencryptedHTTP2(true)
	ts.Start()
	t.Cleanup(ts.Close)
	for _, addr := range []string{host, host + ":", "http://" + host + ":50051"} {
		got, _, err := runCLI(t, addr, "", "get-feature", "10", "10")
		if err != nil || !strings.Contains(got, `"name":"Alpha"`) {
			t.Errorf("--addr %s: printed %q, %v; want Alpha from port 50051", addr, got, err)
		}
	}
}

func TestAddressForms(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, features)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	// ":PORT" as routeguide-server's --addr takes it, and a URL with a slash.
	for _, addr := range []string{":" + port, "127.0.0.1:" + port, ts.URL + "/"} {
		got, _, err := runCLI(t, addr, "", "get-feature", "10", "10")
		if err != nil || !strings.Contains(got, `"name":"Alpha"`) {
			t.Errorf("--addr %s: printed %q, %v; want Alpha", addr, got, err)
		}
	}
	_, _, err = runCLI(t, "127.0.0.1:"+port+"/api", "", "get-feature", "10", "10")
	if err == nil || !strings.Contains(err.Error(), "want HOST[:PORT] or a URL") {
		t.Errorf("--addr with a path but no scheme = %v, want the two forms named", err)
	}
}

func TestCoordinateMessages(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, features)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get-feature", "3000000000", "0"},
			"latitude 3000000000 is out of range: must be within ±900000000 (±90° in E7 units, degrees × 10^7)"},
		{[]string{"get-feature", "0", "-99999999999"},
			"longitude -99999999999 is out of range: must be within ±1800000000 (±180° in E7 units, degrees × 10^7)"},
		{[]string{"list-features", "0", "0", "1", "99999999999999999999999"},
			"longitude 99999999999999999999999 is out of range"},
		{[]string{"get-feature", "48.85837", "2.294481"},
			"latitude 48.85837 looks like degrees: coordinates are E7 integers, degrees × 10^7, so give 488583700"},
		{[]string{"record-route", "0", "0", "1", "-2.5"}, "longitude -2.5 looks like degrees"},
		{[]string{"get-feature", "0", "east"}, `longitude "east": want an integer within ±1800000000 (±180° in E7 units`},
	}
	for _, tt := range tests {
		_, _, err := runCLI(t, ts.URL, "", tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

func TestFlagsAfterTheCommand(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, features)
	closed := routeguidetest.NewRouteGuide(t, features)
	closed.Close()
	tests := [][]string{
		// The --addr after the command must win over the one before it.
		{"--addr", closed.URL, "get-feature", "-5", "7", "--addr", ts.URL},
		{"--addr", closed.URL, "get-feature", "-5", "7", "--addr=" + ts.URL, "--json"},
		{"get-feature", "--json", "-5", "--addr", ts.URL, "-7", "--protocol", "grpcweb"},
		{"--addr", ts.URL, "get-feature", "--", "-5", "-7"},
	}
	for _, args := range tests {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), args, strings.NewReader(""), &stdout, &stderr)
		if err != nil || !strings.Contains(stdout.String(), `"location":{"latitude":-5,`) {
			t.Errorf("%q: printed %q, %v (stderr %q); want the feature at -5", args, stdout.String(), err, stderr.String())
		}
	}
	_, stderr, err := runCLI(t, ts.URL, "", "get-feature", "1", "2", "--verbose")
	if err == nil || !strings.Contains(stderr, "flag provided but not defined: -verbose") {
		t.Errorf("an unknown flag after the command = %v (stderr %q), want it named", err, stderr)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"help"}, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"usage: routeguide", "get-feature LAT LON", "-addr address"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help printed no %q:\n%s", want, stdout.String())
		}
	}
}

func TestPromptOnTerminal(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, features)
	for _, command := range []string{"record-route", "route-chat"} {
		// /dev/null is a character device, as a terminal is, and at its end.
		stdin, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		var stdout, stderr bytes.Buffer
		err = run(t.Context(), []string{"--addr", ts.URL, command}, stdin, &stdout, &stderr)
		if err != nil {
			t.Fatalf("%s: %v", command, err)
		}
		if !strings.Contains(stderr.String(), "as JSON from stdin; end with Ctrl-D") {
			t.Errorf("%s with a terminal on stdin said %q, want what to type", command, stderr.String())
		}
	}
	// From a pipe or a file, nothing is said.
	_, stderr, err := runCLI(t, ts.URL, "", "record-route")
	if err != nil || stderr != "" {
		t.Errorf("record-route from a pipe: %v, said %q; want nothing", err, stderr)
	}
}

func TestConnectionHints(t *testing.T) {
	t.Parallel()
	srv, err := server.New(features)
	if err != nil {
		t.Fatal(err)
	}
	tlsServer := httptest.NewUnstartedServer(srv)
	tlsServer.EnableHTTP2 = true
	// The handshake errors the TLS server logs are the point of this test.
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsServer.StartTLS()
	t.Cleanup(tlsServer.Close)
	h2c := routeguidetest.NewRouteGuide(t, features)
	http1Only := httptest.NewServer(srv)
	t.Cleanup(http1Only.Close)
	closed := routeguidetest.NewRouteGuide(t, features)
	closed.Close()

	tlsHost := strings.TrimPrefix(tlsServer.URL, "https://")
	tests := []struct {
		name, addr, want string
	}{
		{"no server", closed.URL, "hint: nothing listens at " + closed.URL + ": start a server"},
		{"plain to TLS", tlsHost, "does not speak HTTP/2 without TLS (h2c)"},
		{"TLS to plain", "https://" + strings.TrimPrefix(h2c.URL, "http://"), "hint: the server does not speak TLS"},
		{"untrusted certificate", tlsServer.URL, "give that authority's certificate (for a self-signed server, its own) with --ca-cert FILE"},
		{"HTTP/1.1 only", http1Only.URL, "does not speak HTTP/2 without TLS (h2c)"},
	}
	for _, tt := range tests {
		for _, protocol := range []string{"connect", "grpc"} {
			_, _, err := runCLI(t, tt.addr, "", "--protocol", protocol, "get-feature", "10", "10")
			if connect.CodeOf(err) == connect.CodeUnknown || !strings.Contains(err.Error(), "\nhint: ") ||
				!strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s over %s: %v; want its code kept and a hint with %q", tt.name, protocol, err, tt.want)
			}
		}
	}

	// The hinted fix works.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsServer.Certificate().Raw})
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	got, _, err := runCLI(t, tlsServer.URL, "", "--ca-cert", caFile, "--protocol", "grpc", "get-feature", "10", "10")
	if err != nil || !strings.Contains(got, `"name":"Alpha"`) {
		t.Errorf("--ca-cert: printed %q, %v; want Alpha", got, err)
	}
	for _, tt := range []struct{ addr, caFile, want string }{
		{h2c.URL, caFile, "--ca-cert is for TLS: give --addr as https://HOST:PORT"},
		{tlsServer.URL, filepath.Join(t.TempDir(), "missing.pem"), "--ca-cert: open"},
		{tlsServer.URL, os.DevNull, "no PEM certificate in it"},
	} {
		_, _, err := runCLI(t, tt.addr, "", "--ca-cert", tt.caFile, "get-feature", "10", "10")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("--addr %s --ca-cert %s = %v, want %q", tt.addr, tt.caFile, err, tt.want)
		}
	}
}
