package devidp

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// authRequestLifetime is how long a user has to sign in after a page starts
// the flow, and how long the code is then valid.
const authRequestLifetime = 10 * time.Minute

// maxPendingRequests bounds the unfinished authorization requests held in
// memory; a request is held from the authorize endpoint until its code is
// exchanged or it expires.
const maxPendingRequests = 10_000

// authRequest is one authorization request, from the authorize endpoint
// through the login form to the token endpoint. The storage hands out
// copies, so a value is never changed once shared.
type authRequest struct {
	id            string
	made          time.Time
	clientID      string
	redirectURI   string
	responseType  oidc.ResponseType
	responseMode  oidc.ResponseMode
	scopes        []string
	state         string
	nonce         string
	codeChallenge *oidc.CodeChallenge
	audience      []string
	code          string // set when the code is issued

	// Set by the login form.
	subject  string
	authTime time.Time
	done     bool
}

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return "" }
func (a *authRequest) GetAMR() []string                      { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string                 { return a.audience }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.codeChallenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }

// expired reports whether the request is too old to finish.
func (a *authRequest) expired(now time.Time) bool {
	return now.Sub(a.made) >= authRequestLifetime
}
