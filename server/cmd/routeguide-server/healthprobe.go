package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthProbeCommand is the first argument that makes routeguide-server
// probe a running server's health instead of serving: a container built
// FROM scratch has no shell and no curl for its HEALTHCHECK.
const healthProbeCommand = "health"

// healthProbe asks the gRPC health service of the server at --addr
// (default: the address the server would listen on, from
// $ROUTEGUIDE_ADDR, on loopback) for the status of service (default: "",
// the whole server) and returns nil only when it answers SERVING. It
// speaks the Connect protocol over HTTP/1.1, and HTTPS without checking
// the certificate when $ROUTEGUIDE_TLS_CERT is set: it probes the server
// of its own container or host, not an identity.
func healthProbe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("routeguide-server health", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", cmp.Or(getenv(envName("addr")), defaultAddr), "`address` of the server; a host left out or unspecified means loopback [$"+envName("addr")+"]")
	timeout := flags.Duration("timeout", 3*time.Second, "give up after this `long`")
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "usage: routeguide-server health [--addr HOST:PORT] [--timeout D] [SERVICE]\n\n"+
			"Exits 0 when the server's gRPC health service says SERVICE (default: \"\", the whole server) is SERVING.\n\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 1 {
		flags.Usage()
		return fmt.Errorf("health: want at most one SERVICE, got %q", flags.Args())
	}
	service := flags.Arg(0)
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("health: --addr %q: %w", *addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	scheme := "http"
	transport := &http.Transport{}
	if getenv(envName("tls-cert")) != "" {
		scheme = "https"
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // its own server: see the doc comment
	}
	client := &http.Client{Transport: transport, Timeout: *timeout}
	defer client.CloseIdleConnections()

	body, _ := json.Marshal(map[string]string{"service": service})
	url := scheme + "://" + net.JoinHostPort(host, port) + "/grpc.health.v1.Health/Check"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, 4096))
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	var status struct {
		Status string `json:"status"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(answer, &status) != nil {
		return fmt.Errorf("health of %q: %s: %s", service, res.Status, bytes.TrimSpace(answer))
	}
	if status.Status != "SERVING" {
		return fmt.Errorf("health of %q: %s", service, cmp.Or(status.Status, "UNKNOWN"))
	}
	fmt.Fprintf(stdout, "%q SERVING\n", service)
	return nil
}
