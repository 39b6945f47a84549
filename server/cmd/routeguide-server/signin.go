package main

import "flag"

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
