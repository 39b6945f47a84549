package client

import (
	"net/http"

	"connectrpc.com/connect/v2/connecthttp"
)

// WithToken sends token, an OpenID Connect bearer token (a JWT), with every
// call as the header "Authorization: Bearer <token>", which a server with
// identity on reads on every protocol. A server that requires sign-in for
// writes refuses them without one; a moderator's token may delete notes.
// By default calls carry no token, and the server takes them as anonymous.
func WithToken(token string) Option {
	return optionFunc(func(c *config) { c.token = token })
}

// bearerClient sends every request with a bearer token.
type bearerClient struct {
	next   connecthttp.HTTPClient
	header string // "Bearer <token>"
}

func (b *bearerClient) Do(r *http.Request) (*http.Response, error) {
	// Requests are the transport's own, made for this call, so setting a
	// header on them changes nothing that anyone else holds.
	r.Header.Set("Authorization", b.header)
	return b.next.Do(r)
}

// withBearer returns next sending token, or next itself without one.
func withBearer(next connecthttp.HTTPClient, token string) connecthttp.HTTPClient {
	if token == "" {
		return next
	}
	return &bearerClient{next: next, header: "Bearer " + token}
}
