package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	v1 "github.com/routeguide/routeguide/gen/connectrpc/conformance/v1"
	"github.com/routeguide/routeguide/gen/connectrpc/conformance/v1/conformancev1connect"
)

// started is a run in progress.
type started struct {
	res    *v1.ServerCompatResponse
	cancel context.CancelFunc
	done   chan error
}

// start runs the command with req on its stdin, as the runner does, and
// reads the ServerCompatResponse it writes. The run is stopped, and must end
// cleanly, when the test ends.
func start(t *testing.T, req *v1.ServerCompatRequest) *started {
	t.Helper()
	var stdin bytes.Buffer
	if err := writeMessage(&stdin, req); err != nil {
		t.Fatal(err)
	}
	stdoutR, stdoutW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{cancel: cancel, done: make(chan error, 1)}
	var stderr strings.Builder
	go func() {
		err := run(ctx, nil, &stdin, stdoutW, &stderr)
		stdoutW.CloseWithError(fmt.Errorf("run returned: %v", err))
		s.done <- err
	}()
	s.res = &v1.ServerCompatResponse{}
	if err := readMessage(stdoutR, s.res); err != nil {
		cancel()
		t.Fatalf("read the ServerCompatResponse: %v (stderr: %s)", err, stderr.String())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(shutdownTimeout + time.Second):
			t.Error("run did not return after its context ended")
		}
	})
	return s
}

func (s *started) url(scheme string) string {
	return fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(s.res.GetHost(), fmt.Sprint(s.res.GetPort())))
}

// clientOver returns an HTTP client that speaks only HTTP/1.1, or only
// HTTP/2, trusting roots if it is not nil.
func clientOver(t *testing.T, http2 bool, roots *x509.CertPool) *http.Client {
	t.Helper()
	transport := &http.Transport{Protocols: new(http.Protocols)}
	switch {
	case !http2:
		transport.Protocols.SetHTTP1(true)
	case roots != nil:
		transport.Protocols.SetHTTP2(true)
	default:
		transport.Protocols.SetUnencryptedHTTP2(true)
	}
	if roots != nil {
		transport.TLSClientConfig = &tls.Config{RootCAs: roots}
	}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}
}

func TestRunServesHTTP1AndH2CWithTheMessageLimit(t *testing.T) {
	t.Parallel()
	s := start(t, &v1.ServerCompatRequest{
		Protocol:            v1.Protocol_PROTOCOL_CONNECT,
		HttpVersion:         v1.HTTPVersion_HTTP_VERSION_1,
		MessageReceiveLimit: 1 << 10,
	})
	if got := s.res.GetHost(); got != "127.0.0.1" {
		t.Errorf("host = %q, want 127.0.0.1", got)
	}
	if len(s.res.GetPemCert()) != 0 {
		t.Error("a certificate without TLS")
	}
	// Connect over HTTP/1.1, and gRPC, which needs HTTP/2, over h2c.
	for http2, protocol := range map[bool]connecthttp.Option{false: connecthttp.WithProtoJSON(), true: connecthttp.WithGRPC()} {
		c := conformancev1connect.NewConformanceServiceClient(connect.NewClient(connecthttp.NewTransport(clientOver(t, http2, nil), s.url("http"), protocol)))
		res, err := c.Unary(context.Background(), &v1.UnaryRequest{RequestData: []byte("small")})
		if err != nil {
			t.Fatalf("http2=%v: %v", http2, err)
		}
		if got := len(res.GetPayload().GetRequestInfo().GetRequests()); got != 1 {
			t.Errorf("http2=%v: %d requests echoed, want 1", http2, got)
		}
		_, err = c.Unary(context.Background(), &v1.UnaryRequest{RequestData: make([]byte, 2<<10)})
		if got, want := connect.CodeOf(err), connect.CodeResourceExhausted; got != want {
			t.Errorf("http2=%v: a message over the limit: code %v (%v), want %v", http2, got, err, want)
		}
	}
}

func TestRunServesTLSWithTheRunnersCertificate(t *testing.T) {
	t.Parallel()
	certPEM, keyPEM := selfSigned(t)
	s := start(t, &v1.ServerCompatRequest{
		Protocol:    v1.Protocol_PROTOCOL_GRPC,
		HttpVersion: v1.HTTPVersion_HTTP_VERSION_2,
		UseTls:      true,
		ServerCreds: &v1.TLSCreds{Cert: certPEM, Key: keyPEM},
	})
	if !bytes.Equal(s.res.GetPemCert(), certPEM) {
		t.Error("the response does not carry the certificate the request gave")
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.res.GetPemCert()) {
		t.Fatal("the response's certificate does not parse")
	}
	for _, http2 := range []bool{false, true} {
		c := conformancev1connect.NewConformanceServiceClient(connect.NewClient(connecthttp.NewTransport(clientOver(t, http2, roots), s.url("https"), connecthttp.WithGRPCWeb())))
		if _, err := c.Unary(context.Background(), &v1.UnaryRequest{}); err != nil {
			t.Errorf("http2=%v: %v", http2, err)
		}
	}
}

func TestRunRefusesClientCertificates(t *testing.T) {
	t.Parallel()
	var stdin, stdout bytes.Buffer
	certPEM, keyPEM := selfSigned(t)
	if err := writeMessage(&stdin, &v1.ServerCompatRequest{
		UseTls: true, ServerCreds: &v1.TLSCreds{Cert: certPEM, Key: keyPEM}, ClientTlsCert: certPEM,
	}); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), nil, &stdin, &stdout, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "client certificates") {
		t.Errorf("run = %v, want an error that names client certificates", err)
	}
}

func TestRunRefusesAnOversizedRequest(t *testing.T) {
	t.Parallel()
	stdin := bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff})
	err := run(context.Background(), nil, stdin, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("run = %v, want an error about the length", err)
	}
}

// selfSigned returns a certificate for 127.0.0.1 and its key, in PEM, as
// the runner gives.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
