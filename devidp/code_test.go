package devidp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// signInByHand walks the authorize endpoint and the login form as alice with
// the given extra authorize parameters and returns the code the provider
// redirects with.
func signInByHand(t *testing.T, issuer string, extra url.Values) string {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{
		"client_id":     {CLIClientID},
		"redirect_uri":  {CLIRedirectURI},
		"response_type": {"code"},
		"scope":         {"openid"},
	}
	for k, v := range extra {
		q[k] = v
	}
	resp, err := noFollow.Get(issuer + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	form, err := resp.Location()
	if err != nil {
		t.Fatalf("authorize: %s without a Location: %v", resp.Status, err)
	}
	resp, err = noFollow.PostForm(issuer+"/login", url.Values{"id": {form.Query().Get("id")}, "username": {"alice"}, "password": {"alice-dev-password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// On to the callback, which redirects to the client with the code.
	callback, err := resp.Location()
	if err != nil {
		t.Fatalf("login: %s without a Location: %v", resp.Status, err)
	}
	resp, err = noFollow.Get(callback.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := resp.Location()
	if err != nil {
		t.Fatalf("callback: %s without a Location: %v", resp.Status, err)
	}
	code := back.Query().Get("code")
	if code == "" {
		t.Fatalf("callback redirected to %s, want a code", back)
	}
	return code
}

func cliConfig(issuer string) oauth2.Config {
	return oauth2.Config{
		ClientID:    CLIClientID,
		RedirectURL: CLIRedirectURI,
		Endpoint:    oauth2.Endpoint{AuthURL: issuer + "/authorize", TokenURL: issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
	}
}

func TestCodeNeedsPKCE(t *testing.T) {
	t.Parallel()
	_, issuer := serve(t, Config{})
	conf := cliConfig(issuer)

	code := signInByHand(t, issuer, nil)
	if _, err := conf.Exchange(t.Context(), code); err == nil || !strings.Contains(err.Error(), "PKCE required") {
		t.Errorf("exchange a code issued without a challenge: err = %v, want PKCE required", err)
	}

	verifier := oauth2.GenerateVerifier()
	challenge := url.Values{"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	code = signInByHand(t, issuer, challenge)
	if _, err := conf.Exchange(t.Context(), code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil || !strings.Contains(err.Error(), "code_verifier") {
		t.Errorf("exchange with another verifier: err = %v, want the verifier refused", err)
	}
}

func TestCodeIsSingleUse(t *testing.T) {
	t.Parallel()
	_, issuer := serve(t, Config{})
	conf := cliConfig(issuer)
	verifier := oauth2.GenerateVerifier()
	code := signInByHand(t, issuer, url.Values{"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}})
	if _, err := conf.Exchange(t.Context(), code, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	if _, err := conf.Exchange(t.Context(), code, oauth2.VerifierOption(verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("second exchange of one code: err = %v, want invalid_grant", err)
	}
}

func TestPendingSignInsAreBounded(t *testing.T) {
	t.Parallel()
	_, issuer := serve(t, Config{}, func(p *Provider) { p.storage.pending = 1 })
	verifier := oauth2.GenerateVerifier()
	challenge := url.Values{"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := func() *url.URL {
		t.Helper()
		q := url.Values{"client_id": {CLIClientID}, "redirect_uri": {CLIRedirectURI}, "response_type": {"code"}, "scope": {"openid"}}
		for k, v := range challenge {
			q[k] = v
		}
		resp, err := noFollow.Get(issuer + "/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("authorize: %s without a Location: %v", resp.Status, err)
		}
		return loc
	}
	first := authorize()
	if first.Path != loginPath {
		t.Fatalf("first sign-in redirected to %s, want the login form", first)
	}
	second := authorize()
	if got := second.Query().Get("error"); got != "server_error" || !strings.Contains(second.Query().Get("error_description"), "in progress") {
		t.Errorf("second sign-in while one is pending redirected to %s, want server_error saying sign-ins are in progress", second)
	}
	// Finishing the first makes room.
	resp, err := noFollow.PostForm(issuer+"/login", url.Values{"id": {first.Query().Get("id")}, "username": {"alice"}, "password": {"alice-dev-password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback, err := resp.Location()
	if err != nil {
		t.Fatalf("login: %s without a Location: %v", resp.Status, err)
	}
	if resp, err = noFollow.Get(callback.String()); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := resp.Location()
	if err != nil {
		t.Fatalf("callback: %s without a Location: %v", resp.Status, err)
	}
	conf := cliConfig(issuer)
	if _, err := conf.Exchange(t.Context(), back.Query().Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Fatal(err)
	}
	if third := authorize(); third.Path != loginPath {
		t.Errorf("sign-in after the pending one finished redirected to %s, want the login form", third)
	}
}

func TestPromptNoneNeedsLogin(t *testing.T) {
	t.Parallel()
	_, issuer := serve(t, Config{})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{
		"client_id": {CLIClientID}, "redirect_uri": {CLIRedirectURI}, "response_type": {"code"}, "scope": {"openid"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
		"prompt": {"none"}, "state": {"s1"},
	}
	resp, err := noFollow.Get(issuer + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := resp.Location()
	if err != nil {
		t.Fatalf("authorize: %s without a Location: %v", resp.Status, err)
	}
	// There are no sessions, so a silent sign-in always needs the form.
	if got := back.Query().Get("error"); got != "login_required" || back.Query().Get("state") != "s1" {
		t.Errorf("prompt=none redirected to %s, want the client's redirect URI with error login_required and the state", back)
	}
}
