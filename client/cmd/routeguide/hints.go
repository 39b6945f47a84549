package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"connectrpc.com/connect/v2"
)

// hintedError is a failed call's error with what the user most likely has to
// change. It keeps the call's connect code.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() + "\nhint: " + e.hint }
func (e *hintedError) Unwrap() error { return e.err }

// withHint adds a hint to err when the call could not reach a RouteGuide
// server for one of the reasons a first call commonly meets: no server, TLS
// on one side only, an untrusted certificate, a server without HTTP/2.
// Other errors, including every error a server sent, come back as they are.
func withHint(err error, target string) error {
	if cerr, ok := errors.AsType[*connect.Error](err); err == nil || ok && cerr.IsRemote() {
		return err
	}
	// connect-go calls a reset connection canceled, not unavailable.
	reset := errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
	if connect.CodeOf(err) != connect.CodeUnavailable && !reset {
		return err
	}
	var unknownAuthority x509.UnknownAuthorityError
	var hint string
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		hint = fmt.Sprintf("nothing listens at %s: start a server (go run ./server/cmd/routeguide-server) "+
			"or give its address with --addr", target)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		hint = "the server does not speak TLS: give --addr as http://HOST:PORT"
	case errors.As(err, &unknownAuthority):
		hint = "the server's certificate is signed by an authority this machine does not trust: " +
			"give that authority's certificate (for a self-signed server, its own) with --ca-cert FILE"
	case strings.HasPrefix(target, "http://"):
		// How a server that does not speak h2c fails the call varies from
		// run to run (an HTTP/1.1 answer, EOF, a reset), so one hint covers
		// every way.
		hint = "the server does not speak HTTP/2 without TLS (h2c), which this client speaks to http:// addresses, " +
			"as routeguide-server and gRPC servers do: if it serves TLS, give --addr as https://HOST:PORT"
	default:
		return err
	}
	return &hintedError{err: err, hint: hint}
}
