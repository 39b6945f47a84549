package devidp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"time"
)

// CLIClientID is the public client that is always registered, for programs
// that sign in without a browser ([Login]). Its redirect URI is
// [CLIRedirectURI] on any port, as RFC 8252 allows native clients.
const CLIClientID = "routeguide-cli"

// CLIRedirectURI is the redirect URI of [CLIClientID]. Nothing needs to
// listen there: [Login] reads the code from the redirect itself.
const CLIRedirectURI = "http://127.0.0.1/callback"

// DefaultAudience is the audience of access tokens when [Config] names none:
// the value RouteGuide's --auth-audience expects.
const DefaultAudience = "routeguide"

// Config configures an identity provider. Only Issuer is required.
type Config struct {
	// Issuer is the provider's URL, the tokens' iss claim, with no path.
	// http is allowed only on a loopback host. Required.
	Issuer string
	// Audience is added to the aud claim of every token, next to the client
	// ID, so resource servers can check for it. The default is
	// [DefaultAudience].
	Audience string
	// Clients are the browser pages that may sign users in: public clients
	// using the authorization code flow with PKCE. [CLIClientID] is always
	// registered besides them. The default is none.
	Clients []Client
	// CORSOrigins may call the token endpoint from a page, in addition to
	// the origins of the Clients' redirect URIs, which always may.
	CORSOrigins []string
	// Users can sign in. The default is [DevUsers].
	Users []User
	// TokenLifetime is how long access and ID tokens are valid. The
	// default is one hour.
	TokenLifetime time.Duration
	// RotateKeysEvery makes a new signing key when the current one is
	// older; the old key stays in the JWKS until the tokens it signed have
	// expired. The default, zero, keeps the key made at start.
	RotateKeysEvery time.Duration
	// Logger receives a line per sign-in and per refusal. The default is
	// [slog.Default]; zitadel's own warnings always go there.
	Logger *slog.Logger
}

// A Client is a browser page registered at the provider: a public client
// that signs users in with the authorization code flow and PKCE.
type Client struct {
	// ID is the client_id. Required.
	ID string
	// RedirectURIs are where the provider may send the browser back with a
	// code. At least one is required; http is allowed on loopback hosts.
	RedirectURIs []string
}

// defaultTokenLifetime is [Config.TokenLifetime]'s default.
const defaultTokenLifetime = time.Hour

// withDefaults returns c with its defaults filled in, or an error that says
// what is wrong.
func (c Config) withDefaults() (Config, error) {
	u, err := url.Parse(c.Issuer)
	switch {
	case c.Issuer == "":
		return c, errors.New("no issuer: want a URL such as http://127.0.0.1:5556")
	case err != nil:
		return c, fmt.Errorf("issuer %q: %w", c.Issuer, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return c, fmt.Errorf("issuer %q: want an http or https URL", c.Issuer)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return c, fmt.Errorf("issuer %q: http is allowed only on a loopback host", c.Issuer)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return c, fmt.Errorf("issuer %q: want no path, query or fragment", c.Issuer)
	}
	c.Issuer = u.Scheme + "://" + u.Host
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if c.TokenLifetime == 0 {
		c.TokenLifetime = defaultTokenLifetime
	}
	if c.TokenLifetime < 0 || c.RotateKeysEvery < 0 {
		return c, errors.New("token lifetime and key rotation interval must not be negative")
	}
	if c.Users == nil {
		c.Users = DevUsers()
	}
	users := make([]User, 0, len(c.Users))
	for _, u := range c.Users {
		u, err := u.withDefaults()
		if err != nil {
			return c, err
		}
		if slices.ContainsFunc(users, func(v User) bool { return v.Username == u.Username || v.Subject == u.Subject }) {
			return c, fmt.Errorf("user %q: username or subject given twice", u.Username)
		}
		users = append(users, u)
	}
	c.Users = users
	ids := []string{CLIClientID}
	for _, cl := range c.Clients {
		if cl.ID == "" {
			return c, errors.New("a client has no ID")
		}
		if slices.Contains(ids, cl.ID) {
			return c, fmt.Errorf("client %q given twice", cl.ID)
		}
		ids = append(ids, cl.ID)
		if len(cl.RedirectURIs) == 0 {
			return c, fmt.Errorf("client %q has no redirect URI", cl.ID)
		}
		for _, r := range cl.RedirectURIs {
			o, err := origin(r)
			if err != nil {
				return c, fmt.Errorf("client %q: redirect URI %w", cl.ID, err)
			}
			u, _ := url.Parse(r)
			if u.Scheme == "http" && !isLoopback(u.Hostname()) {
				return c, fmt.Errorf("client %q: redirect URI %q: http is allowed only on a loopback host", cl.ID, r)
			}
			if !slices.Contains(c.CORSOrigins, o) {
				c.CORSOrigins = append(c.CORSOrigins, o)
			}
		}
	}
	for _, o := range c.CORSOrigins {
		if got, err := origin(o); err != nil || got != o {
			return c, fmt.Errorf("CORS origin %q: want scheme://host[:port] and nothing else", o)
		}
	}
	return c, nil
}

// origin returns the scheme://host[:port] of an absolute http(s) URL.
func origin(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("%q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q: want an absolute http or https URL", rawURL)
	}
	return u.Scheme + "://" + u.Host, nil
}

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
