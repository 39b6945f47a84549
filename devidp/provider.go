// Package devidp is an OpenID provider for RouteGuide's development, tests
// and local cluster: zitadel/oidc's OP over in-memory storage, with a few
// configured users, a plain login form, and JWT access tokens that resource
// servers verify against its JWKS. It is not for production: passwords are
// kept in the clear and nothing survives a restart.
package devidp

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Paths the provider serves besides zitadel's endpoints (/authorize,
// /oauth/token, /keys, /userinfo, /end_session, /healthz, /ready and the
// discovery document).
const (
	loginPath     = "/login"
	signedOutPath = "/signed-out"
)

// A Provider is a running OpenID provider; it serves every endpoint from
// ServeHTTP, mounted at the root of its issuer URL.
type Provider struct {
	cfg     Config
	storage *storage
	handler http.Handler
}

// New returns a provider configured by cfg, with a fresh signing key.
func New(cfg Config) (*Provider, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	keys, err := newKeyRing(cfg.RotateKeysEvery, cfg.TokenLifetime)
	if err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	insecure := isHTTP(cfg.Issuer)
	s := &storage{
		audience:  cfg.Audience,
		lifetime:  cfg.TokenLifetime,
		users:     make(map[string]User, len(cfg.Users)),
		bySubject: make(map[string]User, len(cfg.Users)),
		clients:   make(map[string]*client, len(cfg.Clients)+1),
		keys:      keys,
		pending:   maxPendingRequests,
		requests:  make(map[string]*authRequest),
		codes:     make(map[string]string),
		tokens:    make(map[string]accessToken),
	}
	for _, u := range cfg.Users {
		s.users[u.Username] = u
		s.bySubject[u.Subject] = u
	}
	loginURL := cfg.Issuer + loginPath + "?id="
	s.clients[CLIClientID] = &client{
		id:           CLIClientID,
		redirectURIs: []string{CLIRedirectURI},
		appType:      op.ApplicationTypeNative,
		loginURL:     loginURL,
		lifetime:     cfg.TokenLifetime,
	}
	for _, c := range cfg.Clients {
		s.clients[c.ID] = &client{
			id:           c.ID,
			redirectURIs: c.RedirectURIs,
			appType:      op.ApplicationTypeUserAgent,
			loginURL:     loginURL,
			lifetime:     cfg.TokenLifetime,
			devMode:      insecure,
		}
	}

	opConfig := &op.Config{
		CodeMethodS256:           true,
		DefaultLogoutRedirectURI: cfg.Issuer + signedOutPath,
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile},
		SupportedClaims:          append(append([]string{}, op.DefaultSupportedClaims...), rolesClaim),
	}
	// The key encrypts nothing that outlives the process: opaque codes are
	// all it protects, as access tokens are JWTs.
	rand.Read(opConfig.CryptoKey[:])
	opts := []op.Option{op.WithCORSOptions(&cors.Options{
		// A function, not AllowedOrigins, which rs/cors reads as "*" when
		// it is empty.
		AllowOriginFunc: func(origin string) bool { return slices.Contains(cfg.CORSOrigins, origin) },
		AllowedMethods:  []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:  []string{"Accept", "Authorization", "Content-Type"},
	})}
	if insecure {
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(opConfig, s, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle(loginPath, &loginForm{storage: s, callback: op.AuthCallbackURL(provider), issuer: cfg.Issuer, log: cfg.Logger})
	mux.HandleFunc(signedOutPath, signedOut)
	mux.Handle("/", provider)
	return &Provider{cfg: cfg, storage: s, handler: mux}, nil
}

// Issuer returns the issuer URL, as the tokens' iss claim spells it.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// ServeHTTP serves the provider's endpoints.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.handler.ServeHTTP(w, r)
}

// RotateKey retires the signing key and makes a new one, as
// [Config.RotateKeysEvery] does on a schedule; the old key stays in the
// JWKS until the tokens it signed have expired.
func (p *Provider) RotateKey() error {
	return p.storage.keys.rotate()
}

func isHTTP(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Scheme == "http"
}
