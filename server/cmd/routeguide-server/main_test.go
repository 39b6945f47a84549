package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// noEnv is an environment with no variables set.
func noEnv(string) string { return "" }

// serverProcess is run serving in the background, as main would.
type serverProcess struct {
	addr     string
	features string // the count the start-up line gives
	stop     func() error
}

var listeningLine = regexp.MustCompile(`msg="routeguide-server listening" addr=(\S+) tls=\w+ features=(\d+)`)

// start runs the server with args and waits for its start-up line.
func start(t *testing.T, args ...string) *serverProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs, logWriter := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), noEnv, logWriter)
		logWriter.Close()
		done <- err
	}()
	started := make(chan []string, 1)
	go func() {
		scanner := bufio.NewScanner(logs)
		for scanner.Scan() {
			if m := listeningLine.FindStringSubmatch(scanner.Text()); m != nil {
				started <- m
			}
		}
		close(started)
	}()
	m, ok := <-started
	if !ok {
		cancel()
		t.Fatalf("server did not start: %v", <-done)
	}
	p := &serverProcess{addr: m[1], features: m[2], stop: sync.OnceValue(func() error {
		cancel()
		return <-done
	})}
	t.Cleanup(func() { _ = p.stop() })
	return p
}

func TestServeH2CAndHTTP1(t *testing.T) {
	t.Parallel()
	p := start(t)
	url := "http://" + p.addr
	for _, options := range [][]client.Option{
		nil, // HTTP/2 without TLS
		{client.WithHTTPClient(routeguidetest.HTTP1Client()), client.WithProtocol(client.ProtocolGRPCWeb)},
	} {
		c, err := client.New(url, options...)
		if err != nil {
			t.Fatal(err)
		}
		f, err := c.GetFeature(t.Context(), &routeguide.Point{Latitude: 488583700, Longitude: 22944810})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(f.GetName(), "Eiffel Tower") {
			t.Errorf("GetFeature on the embedded data = %q, want the Eiffel Tower", f.GetName())
		}
	}
	if err := p.stop(); err != nil {
		t.Errorf("run after shutdown = %v, want nil", err)
	}
}

func TestServeTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := writeCertificate(t)
	p := start(t, "--tls-cert", certFile, "--tls-key", keyFile)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer transport.CloseIdleConnections()
	c, err := client.New("https://"+p.addr, client.WithHTTPClient(&http.Client{Transport: transport}),
		client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		t.Fatal(err)
	}
	// RouteChat proves HTTP/2: it cannot run over HTTP/1.1.
	chat := c.RouteChat(t.Context())
	if err := chat.Send(&routeguide.RouteNote{Location: &routeguide.Point{}, Message: "over TLS"}); err != nil {
		t.Fatal(err)
	}
	if err := chat.CloseSend(); err != nil {
		t.Fatal(err)
	}
	note, err := chat.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if note.GetMessage() != "over TLS" {
		t.Errorf("RouteChat over TLS replied %q", note.GetMessage())
	}
	for _, err := range chat.Replies() {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := p.stop(); err != nil {
		t.Errorf("run after shutdown = %v, want nil", err)
	}
}

func TestFeaturesFlag(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(routeguidetest.CanonicalFeaturesPath()); err != nil {
		t.Skipf("canonical dataset absent: %v", err)
	}
	p := start(t, "--features", routeguidetest.CanonicalFeaturesPath())
	if p.features != "100" {
		t.Errorf("start-up line gives %s features, want 100", p.features)
	}
	if err := p.stop(); err != nil {
		t.Error(err)
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"name": "x", "location": {"latitude": 999999999}}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--features", bad}, bad + `: feature 0 ("x"): location.latitude 999999999 is out of range`},
		{[]string{"--features", filepath.Join(dir, "missing.json")}, "missing.json: no such file"},
		{[]string{"--tls-cert", "cert.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-cert", filepath.Join(dir, "c.pem"), "--tls-key", filepath.Join(dir, "k.pem")}, "load TLS key pair"},
		{[]string{"--addr", busy.Addr().String()}, "address already in use"},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		var stderr strings.Builder
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := run(ctx, tt.args, noEnv, &stderr)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

// writeCertificate writes a self-signed certificate for 127.0.0.1 and its
// key, and returns their paths and a pool that trusts the certificate.
func writeCertificate(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "routeguide test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
