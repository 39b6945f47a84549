// Package identity verifies OpenID Connect bearer tokens: it discovers an
// issuer, fetches and caches its signing keys, and turns the token of a call
// into the Identity of its caller, or into an [Error] that says why not.
//
// Discovery, key sets and signatures are go-oidc's; this package adds the
// checks whose failures a caller must be told apart, a bound on how often
// the keys are fetched again, and the author ID notes are signed with.
package identity

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/routeguide/routeguide/server/internal/defaults"
)

// Config describes the issuer whose tokens a Verifier accepts, and how.
type Config struct {
	// Issuer is the issuer's URL, exactly as its tokens' iss claim and its
	// discovery document say it. It must be https, or http on a loopback
	// address (127.0.0.0/8, ::1 or localhost) for local development.
	Issuer string
	// Audiences are the aud values a token may carry, at least one of which
	// it must: typically the client IDs of the page and of the command-line
	// client. There is no default: without one, a token the issuer made for
	// any other application would pass.
	Audiences []string
	// RolesClaim names the claim that lists the caller's roles; a caller
	// whose roles include "moderator" is a moderator. A name with dots that
	// is no top-level claim is a path into nested objects, as Keycloak's
	// "realm_access.roles". Default "roles".
	RolesClaim string
	// AuthorIDKey, if set, keys the hash that makes author IDs, so that
	// nobody without it can confirm a guessed subject from an author ID. It
	// must be the same on every replica and across restarts, or the same
	// caller gets different IDs. Default: no key (plain SHA-256).
	AuthorIDKey []byte
	// MinRefreshInterval is the least time between two fetches of the
	// issuer's keys: a token naming an unknown key fetches them again at
	// most this often, and is refused with [ReasonUnknownKey] in between.
	// Default 10 seconds.
	MinRefreshInterval time.Duration
	// ClockSkew is how far exp and nbf may be off the server's clock.
	// Default 30 seconds.
	ClockSkew time.Duration
	// Transport makes the requests to the issuer (discovery and keys), each
	// bounded by a 10-second timeout. Default: a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// ModeratorRole is the role, in [Config.RolesClaim], of a moderator.
const ModeratorRole = "moderator"

// MaxTokenBytes is the longest bearer token a Verifier reads; a longer one
// is refused as malformed. Real ones are 1 to 4 KiB.
const MaxTokenBytes = 16 << 10

// requestTimeout bounds each request to the issuer.
const requestTimeout = 10 * time.Second

func (c Config) withDefaults() Config {
	c.RolesClaim = cmp.Or(c.RolesClaim, "roles")
	defaults.Set(&c.MinRefreshInterval, 10*time.Second)
	defaults.Set(&c.ClockSkew, 30*time.Second)
	if c.Transport == nil {
		c.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return c
}

// Verifier turns bearer tokens of one issuer into identities. It is safe
// for concurrent use. The caller should call Close when finished.
type Verifier struct {
	cfg      Config
	algs     []string
	keys     *keyFetcher
	verifier *oidc.IDTokenVerifier
	now      func() time.Time
}

// New discovers cfg.Issuer and returns a Verifier of its tokens. It fails
// if the configuration is incomplete or the issuer cannot be discovered;
// the keys are fetched when the first token comes.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	cfg = cfg.withDefaults()
	if err := checkIssuer(cfg.Issuer); err != nil {
		return nil, err
	}
	if len(cfg.Audiences) == 0 {
		return nil, errors.New("identity: no audience: name the client IDs whose tokens this server accepts")
	}
	discovery := &http.Client{Transport: cfg.Transport, Timeout: requestTimeout}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, discovery), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("identity: discover %s: %w", cfg.Issuer, err)
	}
	var meta struct {
		JWKS       string   `json:"jwks_uri"`
		Algorithms []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, fmt.Errorf("identity: discover %s: %w", cfg.Issuer, err)
	}
	if meta.JWKS == "" {
		return nil, fmt.Errorf("identity: discover %s: no jwks_uri", cfg.Issuer)
	}
	v := &Verifier{cfg: cfg, algs: supported(meta.Algorithms), now: time.Now}
	v.keys = &keyFetcher{base: cfg.Transport, minInterval: cfg.MinRefreshInterval, now: func() time.Time { return v.now() }}
	keyClient := &http.Client{Transport: v.keys, Timeout: requestTimeout}
	keySet := oidc.NewRemoteKeySet(oidc.ClientContext(context.WithoutCancel(ctx), keyClient), meta.JWKS)
	// The claims were checked by v itself, telling its failures apart;
	// go-oidc checks the signature, with the keys it fetched.
	v.verifier = oidc.NewVerifier(cfg.Issuer, keySet, &oidc.Config{
		SupportedSigningAlgs: v.algs,
		SkipClientIDCheck:    true,
		SkipExpiryCheck:      true,
		SkipIssuerCheck:      true,
	})
	return v, nil
}

// Close releases the Verifier's idle connections to the issuer.
func (v *Verifier) Close() {
	if t, ok := v.cfg.Transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// checkIssuer refuses an issuer whose keys could be replaced on the way: an
// http URL anywhere but on this machine.
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return fmt.Errorf("identity: issuer %q is not an absolute URL", issuer)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("identity: issuer %s: http is accepted on loopback only (127.0.0.1, ::1, localhost); use https", issuer)
	default:
		return fmt.Errorf("identity: issuer %s: scheme must be https", issuer)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// supported returns the algorithms of the issuer's discovery document that
// go-oidc verifies, or RS256, which every OpenID provider must support, if
// it names none.
func supported(advertised []string) []string {
	known := map[string]bool{
		oidc.RS256: true, oidc.RS384: true, oidc.RS512: true,
		oidc.ES256: true, oidc.ES384: true, oidc.ES512: true,
		oidc.PS256: true, oidc.PS384: true, oidc.PS512: true,
		oidc.EdDSA: true,
	}
	algs := slices.DeleteFunc(slices.Clone(advertised), func(a string) bool { return !known[a] })
	if len(algs) == 0 {
		return []string{oidc.RS256}
	}
	return algs
}
