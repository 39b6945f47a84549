package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
)

// The names the replicas and the provider must agree on: the client ID the
// browser page signs in as, and the audience of the provider's access
// tokens (devidp's default), which the replicas require.
const (
	pageClientID = "routeguide-web"
	idpAudience  = "routeguide"
)

// newIDP returns the process of the development OpenID provider on addr,
// with the browser page registered as a client that may come back to the
// front door at front, by address and, for a browser opened on
// localhost, by name. It is ready when it answers /ready.
func (c *Cluster) newIDP(addr, front, bin string) *Process {
	_, port, _ := net.SplitHostPort(front)
	redirects := []string{"http://" + front + "/", "http://localhost:" + port + "/"}
	args := []string{"serve",
		"--listen", addr,
		"--audience", idpAudience,
		"--client", pageClientID + "=" + strings.Join(redirects, ","),
	}
	ready := "http://" + addr + "/ready"
	return c.newProcess("routeguide-idp", addr, addr, bin, args, func(ctx context.Context) error {
		return poll(ctx, func(ctx context.Context) error { return httpOK(ctx, ready) })
	})
}

// identityArgs are the flags that have a replica verify the provider's
// tokens, and let the browser page sign in there: writes need a token
// unless writesAnyone.
func identityArgs(issuer string, writesAnyone bool) []string {
	writes := "signed-in"
	if writesAnyone {
		writes = "anyone"
	}
	return []string{
		"--auth-issuer", issuer,
		"--auth-audience", idpAudience,
		"--auth-client-id", pageClientID,
		"--writes", writes,
	}
}

// Issuer returns the URL of the cluster's OpenID provider, whose users
// sign in to write, or "" when the cluster runs none.
func (c *Cluster) Issuer() string {
	if c.idp == nil {
		return ""
	}
	return "http://" + c.idp.Addr()
}

// IDP returns the OpenID provider, or nil when the cluster runs none.
func (c *Cluster) IDP() *Process { return c.idp }

// ErrNoIDP is the error of [Cluster.Token] for a cluster without an OpenID
// provider.
var ErrNoIDP = errors.New("the cluster runs no OpenID provider (Binaries.IDP is empty)")

// Token signs in as username, one of the provider's users (alice, bob, mod),
// with the user's development password, and returns an access token that
// every replica accepts, for an Authorization: Bearer header. It runs the
// provider's own command-line sign-in, the authorization code flow that the
// browser page uses.
func (c *Cluster) Token(ctx context.Context, username string) (string, error) {
	if c.idp == nil {
		return "", ErrNoIDP
	}
	cmd := exec.CommandContext(ctx, c.idpBin, "token", "--issuer", c.Issuer(), "--user", username)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("sign in as %s: %w: %s", username, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
