package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// defaultPort is the port routeguide-server listens on and every canonical
// RouteGuide client dials.
const defaultPort = "50051"

// baseURL turns the --addr flag into the URL the client calls. A URL is
// taken as it is; HOST[:PORT], as grpcurl and the gRPC examples take it,
// means h2c on that port, or on the default port rather than HTTP's 80.
func baseURL(addr string) (string, error) {
	if strings.Contains(addr, "://") {
		return addr, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		// No port: a name, an IPv4 address or an IPv6 one, bracketed or not.
		host, port = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"), ""
	}
	if strings.ContainsAny(host, "/?#") || strings.ContainsAny(port, "/?#") {
		return "", fmt.Errorf("--addr %q: want HOST[:PORT] or a URL such as http://HOST:PORT/PATH", addr)
	}
	if host == "" {
		// ":50051", as routeguide-server's --addr takes it.
		host = "localhost"
	}
	if port == "" {
		port = defaultPort
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// parseArgs parses flags wherever they stand, so that a flag added at the
// end of a command line ("routeguide get-feature 1 2 --json") takes effect
// instead of being read as a coordinate. A negative number is a coordinate,
// not a flag, and everything after "--" is an argument. It returns the
// arguments that are not flags, in order.
func parseArgs(flags *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for len(args) > 0 {
		arg := args[0]
		if arg == "--" {
			return append(positional, args[1:]...), nil
		}
		if !isFlag(arg) {
			positional = append(positional, arg)
			args = args[1:]
			continue
		}
		// One flag at a time, with its value when it takes one, so that
		// flag.Parse never meets a negative coordinate.
		n := 1
		if name, _, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "="); !hasValue {
			if f := flags.Lookup(name); f != nil && !isBoolFlag(f) {
				n = 2
			}
		}
		n = min(n, len(args))
		if err := flags.Parse(args[:n]); err != nil {
			return nil, err
		}
		args = args[n:]
	}
	return positional, nil
}

func isFlag(arg string) bool {
	if len(arg) < 2 || arg[0] != '-' {
		return false
	}
	_, err := strconv.ParseFloat(arg, 64)
	return err != nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// tlsClient returns an HTTP/2 client that trusts the certificates the CA in
// caFile signed, such as a test server's self-signed one.
func tlsClient(target, caFile string) (*http.Client, error) {
	if !strings.HasPrefix(target, "https://") {
		return nil, fmt.Errorf("--ca-cert is for TLS: give --addr as https://HOST:PORT, not %s", target)
	}
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca-cert: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("--ca-cert %s: no PEM certificate in it", caFile)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	transport.Protocols = new(http.Protocols)
	transport.Protocols.SetHTTP2(true)
	return &http.Client{Transport: transport}, nil
}
