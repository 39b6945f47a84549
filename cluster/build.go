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
	// IDP is routeguide-idp, the development OpenID provider of devidp/.
	// With it the cluster runs the provider and its replicas verify its
	// tokens; without it every caller is anonymous.
	IDP string
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

// mainModule is the path of RouteGuide's main module.
const mainModule = "github.com/routeguide/routeguide"

// Build builds routeguide-server, routeguide-idp and nats-server (the
// version pinned in tools/go.mod) from the checkout that holds the current
// directory into dir, and finds HAProxy. The current directory may be in
// the main module or in a module that replaces it with the checkout, such
// as web/e2e.
func Build(ctx context.Context, dir string) (Binaries, error) {
	haproxy, err := FindHAProxy()
	if err != nil {
		return Binaries{}, err
	}
	root, err := goCommand(ctx, "", "list", "-m", "-f", "{{.Dir}}", mainModule)
	if err != nil {
		return Binaries{}, fmt.Errorf("build: run from a checkout of RouteGuide: %w", err)
	}
	if root == "" {
		return Binaries{}, fmt.Errorf("build: run from a checkout of RouteGuide (go list -m %s names no directory)", mainModule)
	}
	server := filepath.Join(dir, "routeguide-server")
	if _, err := goCommand(ctx, root, "build", "-o", server, "./server/cmd/routeguide-server"); err != nil {
		return Binaries{}, err
	}
	// devidp is a module of its own, which keeps its OpenID provider
	// library out of the main module's dependencies.
	idp := filepath.Join(dir, "routeguide-idp")
	if _, err := goCommand(ctx, filepath.Join(root, "devidp"), "build", "-o", idp, "./cmd/routeguide-idp"); err != nil {
		return Binaries{}, err
	}
	nats, err := BuildNATS(ctx, root, dir)
	if err != nil {
		return Binaries{}, err
	}
	return Binaries{Server: server, NATS: nats, HAProxy: haproxy, IDP: idp}, nil
}

// BuildNATS builds the nats-server pinned in the tools/go.mod of the
// checkout at root into dir, and returns its path: the same nats-server
// that `go tool nats-server` runs, in a file of the caller's own. Running
// the executable `go tool -n nats-server` names in the build cache fails
// now and then with "text file busy" on a machine whose cache is new:
// another go command building the same tool at the same time, as the
// tests of two packages do, may be writing that file.
func BuildNATS(ctx context.Context, root, dir string) (string, error) {
	nats := filepath.Join(dir, "nats-server")
	if _, err := goCommand(ctx, root, "build", "-modfile=tools/go.mod", "-o", nats, "github.com/nats-io/nats-server/v2"); err != nil {
		return "", err
	}
	return nats, nil
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
