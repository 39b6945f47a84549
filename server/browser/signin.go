package browser

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// SignIn is what the page needs to sign its users in with OpenID Connect:
// whom to ask and as which client. It holds no secret: the page is a public
// client, and all of it is served to anyone at /auth-config.json.
type SignIn struct {
	// Issuer is the OpenID provider's URL, as in the tokens' iss claim.
	// The default, empty, means the server verifies no tokens, and the page
	// shows no sign-in.
	Issuer string
	// ClientID is the client_id the page signs in as, registered at the
	// issuer with the page's own URL as a redirect URI. Required with an
	// Issuer.
	ClientID string
	// WritesNeedSignIn says that PostNote and RouteChat refuse calls
	// without a token, so that the page asks for a sign-in before posting
	// rather than failing. The default is false: anyone may write.
	WritesNeedSignIn bool
}

// authConfigPath is where the page reads its [SignIn].
const authConfigPath = "/auth-config.json"

// authConfig is the JSON form of a [SignIn], as the page reads it.
type authConfig struct {
	Issuer   string `json:"issuer,omitempty"`
	ClientID string `json:"clientId,omitempty"`
	Writes   string `json:"writes"`
}

// origin returns the scheme and host of the issuer, which the page must be
// allowed to call, or "" when there is none.
func (s SignIn) origin() (string, error) {
	if s.Issuer == "" {
		return "", nil
	}
	u, err := url.Parse(s.Issuer)
	if err != nil {
		return "", fmt.Errorf("sign-in issuer: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("sign-in issuer %q: want an http or https URL", s.Issuer)
	}
	if s.ClientID == "" {
		return "", fmt.Errorf("sign-in issuer %q: no client ID for the page", s.Issuer)
	}
	return u.Scheme + "://" + u.Host, nil
}

// PageWith returns the handler of the page built into package web:
// index.html at "/" and its other files beside it, for GET and HEAD only,
// any other path not found. Its users sign in as signIn says: it also
// answers GET /auth-config.json, and lets the page call the issuer, which
// its Content-Security-Policy otherwise forbids.
func PageWith(signIn SignIn) (http.Handler, error) {
	origin, err := signIn.origin()
	if err != nil {
		return nil, err
	}
	embedded, err := embeddedPage()
	if err != nil {
		return nil, err
	}
	p := *embedded
	config := authConfig{Writes: "anyone"}
	if signIn.WritesNeedSignIn {
		config.Writes = "signed-in"
	}
	if origin != "" {
		// oidc-client-ts fetches the provider's discovery document, keys
		// and token endpoint; the sign-in itself is a navigation.
		p.policy = strings.Replace(pageSecurityPolicy, "default-src 'self'",
			"default-src 'self'; connect-src 'self' "+origin, 1)
		config.Issuer, config.ClientID = signIn.Issuer, signIn.ClientID
	}
	body, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", &p)
	mux.HandleFunc("GET "+authConfigPath, func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		// Briefly, so that a page opened just after a change of flags
		// does not sign in against the old issuer for long.
		h.Set("Cache-Control", "max-age=60")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(body)
	})
	return mux, nil
}
