package devidp

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// client is a registered public client, as [op.Client] sees it.
type client struct {
	id           string
	redirectURIs []string
	appType      op.ApplicationType
	loginURL     string        // the login form, to which the request ID is appended
	lifetime     time.Duration // of ID tokens
	devMode      bool          // the issuer is http, so http redirect URIs are allowed
}

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string    { return c.redirectURIs }
func (c *client) ApplicationType() op.ApplicationType { return c.appType }

// AuthMethod is none: every client is public and proves itself with PKCE.
func (c *client) AuthMethod() oidc.AuthMethod { return oidc.AuthMethodNone }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType        { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(requestID string) string    { return c.loginURL + requestID }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration      { return c.lifetime }
func (c *client) DevMode() bool                       { return c.devMode }
func (c *client) IsScopeAllowed(string) bool          { return false }
func (c *client) ClockSkew() time.Duration            { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return keepScopes
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return keepScopes
}

// IDTokenUserinfoClaimsAssertion is true so ID tokens carry the profile
// claims (name, preferred_username) even when an access token is issued too:
// a page can show who signed in without calling userinfo.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

func keepScopes(scopes []string) []string { return scopes }
