package server

import (
	"github.com/routeguide/routeguide/server/clientaddr"
	"github.com/routeguide/routeguide/server/identity"
)

// WithIdentity verifies the bearer tokens of calls with v, so that notes
// carry their authors, moderators may delete notes, and, with
// [WritesSignedIn], only signed-in callers may write. A call that sends a
// token, a read among them, has it verified, and is refused with
// unauthenticated if it is bad, before its body is read. By default the
// Server verifies no tokens: every caller is anonymous, anyone may write
// and nobody may delete.
func WithIdentity(v *identity.Verifier, writes Writes) Option {
	return optionFunc(func(c *config) { c.verifier, c.writes = v, writes })
}

// WithTrustedProxies takes the client's address of a call from
// X-Forwarded-For when the call comes from one of trusted's addresses; the
// listener must take it from their PROXY headers ([clientaddr.Trusted.Listener]).
// Budgets count anonymous callers by that address. By default no proxy is
// trusted: the client is the peer of the connection.
func WithTrustedProxies(trusted *clientaddr.Trusted) Option {
	return optionFunc(func(c *config) { c.trusted = trusted })
}
