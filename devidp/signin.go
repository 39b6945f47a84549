package devidp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// ErrLoginRefused is returned by [Login.Do] when the provider refuses the
// username and password.
var ErrLoginRefused = errors.New("wrong username or password")

// A Login signs a user in without a browser, through the standard
// authorization code flow with PKCE that a page uses: it follows the
// authorize redirect to the login form, posts the form as a browser would,
// reads the code from the redirect and exchanges it at the token endpoint.
// It works against this package's provider only, whose form it knows.
type Login struct {
	// Issuer is the provider's URL. Required.
	Issuer string
	// Username and Password are the user's. Required.
	Username, Password string
	// ClientID is the client to sign in to. The default is [CLIClientID].
	ClientID string
	// RedirectURI is one of the client's redirect URIs; nothing needs to
	// serve it. The default is [CLIRedirectURI].
	RedirectURI string
	// Scopes are requested. The default is openid and profile.
	Scopes []string
	// HTTPClient makes the requests; its redirect policy is replaced. The
	// default uses [http.DefaultTransport] with a 30-second timeout per
	// request.
	HTTPClient *http.Client
}

// Tokens are what a [Login] gets.
type Tokens struct {
	// AccessToken is a JWT for resource servers, whose aud claim names the
	// client and the provider's API audience.
	AccessToken string
	// IDToken is a JWT for the client, whose aud claim names the client.
	IDToken string
	// Expiry is when the access token expires.
	Expiry time.Time
}

// Token signs username in at the provider at issuer with the built-in CLI
// client and returns an access token, for tests and scripts.
func Token(ctx context.Context, issuer, username, password string) (string, error) {
	t, err := Login{Issuer: issuer, Username: username, Password: password}.Do(ctx)
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

// Do signs the user in and returns the tokens.
func (l Login) Do(ctx context.Context) (*Tokens, error) {
	if l.ClientID == "" {
		l.ClientID = CLIClientID
	}
	if l.RedirectURI == "" {
		l.RedirectURI = CLIRedirectURI
	}
	if l.Scopes == nil {
		l.Scopes = []string{"openid", "profile"}
	}
	redirect, err := url.Parse(l.RedirectURI)
	if err != nil {
		return nil, fmt.Errorf("sign in: redirect URI: %w", err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if l.HTTPClient != nil {
		*hc = *l.HTTPClient
	}
	// The browser would go on to the page; the code is in the redirect.
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		u := req.URL
		if u.Scheme == redirect.Scheme && u.Hostname() == redirect.Hostname() && u.Path == redirect.Path {
			return http.ErrUseLastResponse
		}
		return nil
	}

	endpoints, err := discover(ctx, hc, l.Issuer)
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	conf := oauth2.Config{
		ClientID:    l.ClientID,
		Endpoint:    oauth2.Endpoint{AuthURL: endpoints.Authorization, TokenURL: endpoints.Token, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: l.RedirectURI,
		Scopes:      l.Scopes,
	}
	verifier, state := oauth2.GenerateVerifier(), randomID(16)

	// The authorize endpoint redirects to the login form.
	form, err := get(ctx, hc, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		return nil, fmt.Errorf("sign in: open the login form: %w", err)
	}
	defer form.Body.Close()
	if back, err := form.Location(); err == nil && back.Query().Get("error") != "" {
		return nil, fmt.Errorf("sign in: the provider answered %s: %s", back.Query().Get("error"), back.Query().Get("error_description"))
	}
	id := form.Request.URL.Query().Get("id")
	if form.StatusCode != http.StatusOK || id == "" {
		return nil, fmt.Errorf("sign in: authorize answered %s at %s: %s", form.Status, form.Request.URL.Redacted(), snippet(form.Body))
	}

	// Posting the form redirects through the callback to the redirect URI.
	loginURL := *form.Request.URL
	loginURL.RawQuery = ""
	body := url.Values{"id": {id}, "username": {l.Username}, "password": {l.Password}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, loginURL.String(), strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sign in: post the login form: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, fmt.Errorf("sign in as %q: %w", l.Username, ErrLoginRefused)
	}
	back, err := resp.Location()
	if err != nil || resp.StatusCode/100 != 3 {
		return nil, fmt.Errorf("sign in: the login form answered %s, not a redirect: %s", resp.Status, snippet(resp.Body))
	}
	q := back.Query()
	if e := q.Get("error"); e != "" {
		return nil, fmt.Errorf("sign in: the provider answered %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		return nil, errors.New("sign in: the redirect carries another state")
	}

	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, hc), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("sign in: exchange the code: %w", err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	return &Tokens{AccessToken: tok.AccessToken, IDToken: idToken, Expiry: tok.Expiry}, nil
}

// endpoints are the parts of a discovery document a [Login] uses.
type endpoints struct {
	Issuer        string `json:"issuer"`
	Authorization string `json:"authorization_endpoint"`
	Token         string `json:"token_endpoint"`
}

func discover(ctx context.Context, hc *http.Client, issuer string) (*endpoints, error) {
	resp, err := get(ctx, hc, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration")
	if err != nil {
		return nil, fmt.Errorf("discover: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("discover: %s: %s", resp.Status, snippet(resp.Body))
	}
	var e endpoints
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		return nil, fmt.Errorf("discover: %w", err)
	}
	if e.Authorization == "" || e.Token == "" {
		return nil, errors.New("discover: the document names no authorization or token endpoint")
	}
	return &e, nil
}

func get(ctx context.Context, hc *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return hc.Do(req)
}

// snippet returns the start of a body for an error message.
func snippet(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 300))
	return strings.TrimSpace(string(b))
}
