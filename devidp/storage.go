package devidp

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// rolesClaim names the claim that lists a user's roles, the claim
// RouteGuide's --auth-roles-claim reads by default.
const rolesClaim = "roles"

// storage is the provider's [op.Storage], all in memory: the users and
// clients are fixed at start; authorization requests and issued access
// tokens come and go, and expired ones are dropped as new ones arrive.
type storage struct {
	audience  string
	lifetime  time.Duration      // of access tokens
	users     map[string]User    // by username
	bySubject map[string]User    // by subject
	clients   map[string]*client // by ID
	keys      *keyRing
	pending   int // most unfinished authorization requests held at once

	mu       sync.Mutex              // protects requests, codes and tokens
	requests map[string]*authRequest // by ID
	codes    map[string]string       // authorization code to request ID
	tokens   map[string]accessToken  // by token ID (the jti claim)
}

// accessToken is what the provider remembers of an access token it issued,
// for the userinfo endpoint and revocation.
type accessToken struct {
	subject  string
	clientID string
	scopes   []string
	expires  time.Time
}

// errNotFound is returned for requests, codes and tokens the storage does
// not hold, or no longer holds because they expired.
var errNotFound = errors.New("not found or expired")

var _ op.Storage = (*storage)(nil)
var _ op.CanSetUserinfoFromRequest = (*storage)(nil)

// checkPassword returns the user with that username and password. The
// comparison takes the same time however much of the password is right.
func (s *storage) checkPassword(username, password string) (User, bool) {
	u, ok := s.users[username]
	if !ok || subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) != 1 {
		return User{}, false
	}
	return u, true
}

// authRequest returns a copy of the unexpired request with that ID.
func (s *storage) authRequest(id string) (*authRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok || a.expired(time.Now()) {
		return nil, fmt.Errorf("authorization request %q: %w", id, errNotFound)
	}
	c := *a
	return &c, nil
}

// completeLogin marks the request as signed in by subject.
func (s *storage) completeLogin(id, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok || a.expired(time.Now()) {
		return fmt.Errorf("authorization request %q: %w", id, errNotFound)
	}
	if a.done {
		return fmt.Errorf("authorization request %q: already signed in", id)
	}
	c := *a
	c.subject, c.authTime, c.done = subject, time.Now(), true
	s.requests[id] = &c
	return nil
}

func (s *storage) CreateAuthRequest(_ context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	// There are no sessions: every sign-in shows the form, so a request
	// that forbids a prompt cannot succeed.
	if slices.Contains(r.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired()
	}
	audience := []string{r.ClientID}
	if s.audience != r.ClientID {
		audience = append(audience, s.audience)
	}
	a := &authRequest{
		id:           randomID(16),
		made:         time.Now(),
		clientID:     r.ClientID,
		redirectURI:  r.RedirectURI,
		responseType: r.ResponseType,
		responseMode: r.ResponseMode,
		scopes:       slices.Clone(r.Scopes),
		state:        r.State,
		nonce:        r.Nonce,
		audience:     audience,
	}
	if r.CodeChallenge != "" {
		a.codeChallenge = &oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: r.CodeChallengeMethod}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, old := range s.requests {
		if old.expired(a.made) {
			delete(s.requests, id)
			delete(s.codes, old.code)
		}
	}
	if len(s.requests) >= s.pending {
		return nil, oidc.ErrServerError().WithDescription("%d sign-ins are in progress, the most this provider holds: finish one or wait %v", s.pending, authRequestLifetime)
	}
	s.requests[a.id] = a
	c := *a
	return &c, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	return s.authRequest(id)
}

func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("authorization code: %w", errNotFound)
	}
	return s.authRequest(id)
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok {
		return fmt.Errorf("authorization request %q: %w", id, errNotFound)
	}
	c := *a
	c.code = code
	s.requests[id] = &c
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest is called when the code is exchanged, which makes the
// code single-use.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.requests[id]; ok {
		delete(s.codes, a.code)
		delete(s.requests, id)
	}
	return nil
}

func (s *storage) CreateAccessToken(_ context.Context, r op.TokenRequest) (string, time.Time, error) {
	a, ok := r.(*authRequest)
	if !ok {
		return "", time.Time{}, fmt.Errorf("no access tokens for a %T: only the authorization code flow is supported", r)
	}
	now := time.Now()
	id := randomID(16)
	t := accessToken{subject: a.subject, clientID: a.clientID, scopes: a.scopes, expires: now.Add(s.lifetime)}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, old := range s.tokens {
		if !now.Before(old.expires) {
			delete(s.tokens, id)
		}
	}
	s.tokens[id] = t
	return id, t.expires, nil
}

// errNoRefresh is the answer to every refresh token operation: no client is
// registered for the refresh_token grant, so none is ever issued.
var errNoRefresh = errors.New("refresh tokens are not supported: sign in again")

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errNoRefresh
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errNoRefresh
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// TerminateSession forgets the user's access tokens for the client, the
// nearest thing to a session this provider has.
func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if t.subject == userID && t.clientID == clientID {
			delete(s.tokens, id)
		}
	}
	return nil
}

// RevokeToken forgets an access token, so userinfo refuses it. Resource
// servers that verify the JWT locally accept it until it expires.
func (s *storage) RevokeToken(_ context.Context, tokenID, userID, clientID string) *oidc.Error {
	if userID == "" {
		return oidc.ErrInvalidRequest().WithDescription("refresh tokens are not supported")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenID]
	if !ok {
		return nil // RFC 7009: an unknown token is not an error
	}
	if t.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
	}
	delete(s.tokens, tokenID)
	return nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return s.keys.signer()
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return s.keys.public(), nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := s.clients[id]
	if !ok {
		return nil, fmt.Errorf("client %q is not registered", id)
	}
	return c, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, _ string) error {
	return fmt.Errorf("client %q: every client is public and proves itself with PKCE, not a secret", id)
}

// SetUserinfoFromScopes is deprecated in [op.OPStorage] and does nothing;
// SetUserinfoFromRequest fills ID tokens.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(info, r.GetSubject(), scopes)
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || t.subject != subject || !time.Now().Before(t.expires) {
		return fmt.Errorf("access token: %w", errNotFound)
	}
	return s.setUserinfo(info, subject, t.scopes)
}

// setUserinfo fills the claims of an ID token or userinfo answer: the
// profile when the scopes ask for it, and the roles always.
func (s *storage) setUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	u, ok := s.bySubject[subject]
	if !ok {
		return fmt.Errorf("user %q: %w", subject, errNotFound)
	}
	info.Subject = u.Subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = u.Name
		info.PreferredUsername = u.Username
	}
	info.AppendClaims(rolesClaim, u.Roles)
	return nil
}

func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("introspection is not supported: access tokens are JWTs, verify them with the JWKS")
}

// GetPrivateClaimsFromScopes gives access tokens the claims RouteGuide reads
// to name an author and find moderators, whatever the scopes.
func (s *storage) GetPrivateClaimsFromScopes(_ context.Context, subject, _ string, _ []string) (map[string]any, error) {
	u, ok := s.bySubject[subject]
	if !ok {
		return nil, fmt.Errorf("user %q: %w", subject, errNotFound)
	}
	return map[string]any{
		"name":               u.Name,
		"preferred_username": u.Username,
		rolesClaim:           u.Roles,
	}, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }
