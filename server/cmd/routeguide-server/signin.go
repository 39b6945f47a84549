package main

import (
	"flag"

	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/browser"
)

// defaultPageClientID is --auth-client-id's default, the client ID that
// devidp and the cluster's provider register for the page.
const defaultPageClientID = "routeguide-web"

// addSignInFlags adds the flags of the page's sign-in and returns where
// their values go.
func addSignInFlags(flags *flag.FlagSet) *string {
	clientID := flags.String("auth-client-id", defaultPageClientID,
		"OpenID Connect `client_id` the browser page signs in as with --auth-issuer: a public client "+
			"registered there with the page's URL as a redirect URI")
	return clientID
}

// pageSignIn returns the option that tells the browser page how its users
// sign in: at --auth-issuer, as --auth-client-id, and whether --writes
// needs it. Without an issuer the page offers no sign-in.
func (c *config) pageSignIn() server.Option {
	return server.WithPageSignIn(browser.SignIn{
		Issuer:           c.writes.issuer,
		ClientID:         *c.pageClientID,
		WritesNeedSignIn: c.writes.writes == server.WritesSignedIn,
	})
}
