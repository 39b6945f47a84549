package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries are the programs a cluster runs, by path.
type Binaries struct {
	Server  string // routeguide-server
	NATS    string // nats-server
	HAProxy string // haproxy
}

// ErrNoHAProxy is the error of [FindHAProxy] when HAProxy is not installed.
var ErrNoHAProxy = errors.New("haproxy not found in PATH or /usr/sbin (Debian and Ubuntu: apt-get install haproxy)")

// FindHAProxy returns the path of haproxy: in PATH, or in /usr/sbin, where
// Debian installs it and which is not in every user's PATH.
func FindHAProxy() (string, error) {
	for _, name := range []string{"haproxy", "/usr/sbin/haproxy", "/usr/local/sbin/haproxy"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", ErrNoHAProxy
}

// Build builds routeguide-server from the checkout that holds the current
// directory into dir, finds nats-server, building the version pinned in
// tools/go.mod if the Go build cache lacks it, and finds HAProxy.
func Build(ctx context.Context, dir string) (Binaries, error) {
	haproxy, err := FindHAProxy()
	if err != nil {
		return Binaries{}, err
	}
	gomod, err := goCommand(ctx, "", "env", "GOMOD")
	if err != nil {
		return Binaries{}, err
	}
	if filepath.Base(gomod) != "go.mod" {
		return Binaries{}, errors.New("build: run from a checkout of RouteGuide (go env GOMOD is empty)")
	}
	root := filepath.Dir(gomod)
	server := filepath.Join(dir, "routeguide-server")
	if _, err := goCommand(ctx, root, "build", "-o", server, "./server/cmd/routeguide-server"); err != nil {
		return Binaries{}, err
	}
	// go tool -n prints where the cached executable is, building it first
	// if needed: the same nats-server that `go tool nats-server` runs.
	nats, err := goCommand(ctx, root, "tool", "-modfile=tools/go.mod", "-n", "nats-server")
	if err != nil {
		return Binaries{}, err
	}
	return Binaries{Server: server, NATS: nats, HAProxy: haproxy}, nil
}

// goCommand runs the go command in dir and returns what it printed, trimmed.
func goCommand(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(stdout.String()), nil
}
