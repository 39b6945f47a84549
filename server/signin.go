package server

import "github.com/routeguide/routeguide/server/browser"

// WithPageSignIn tells the browser page how its users sign in: the OpenID
// provider, the page's client ID there, and whether writes need a sign-in.
// The page learns it from GET /auth-config.json. It configures only the
// page; the server's own checks of tokens are configured apart. By default
// the page offers no sign-in.
func WithPageSignIn(signIn browser.SignIn) Option {
	return optionFunc(func(c *config) { c.signIn = signIn })
}
