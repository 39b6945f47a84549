package devidp

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
)

// claims are the parts of a token RouteGuide reads.
type claims struct {
	Issuer            string   `json:"iss"`
	Subject           string   `json:"sub"`
	Audience          []string `json:"aud"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Roles             []string `json:"roles"`
}

func TestLoginTokensVerify(t *testing.T) {
	t.Parallel()
	_, issuer := serve(t, Config{})
	provider, err := oidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	// What a resource server checks: the API audience.
	api := provider.Verifier(&oidc.Config{ClientID: DefaultAudience})
	// What the client checks: its own ID.
	cli := provider.Verifier(&oidc.Config{ClientID: CLIClientID})

	for _, tc := range []struct {
		user, password string
		want           claims
	}{{
		user: "alice", password: "alice-dev-password",
		want: claims{Subject: "alice", Name: "Alice Liddell", PreferredUsername: "alice", Roles: []string{}},
	}, {
		user: "mod", password: "mod-dev-password",
		want: claims{Subject: "mod", Name: "Molly Moderator", PreferredUsername: "mod", Roles: []string{"moderator"}},
	}} {
		t.Run(tc.user, func(t *testing.T) {
			t.Parallel()
			tokens, err := Login{Issuer: issuer, Username: tc.user, Password: tc.password}.Do(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.Issuer = issuer
			want.Audience = []string{CLIClientID, DefaultAudience}

			access, err := api.Verify(t.Context(), tokens.AccessToken)
			if err != nil {
				t.Fatalf("verify the access token for audience %q: %v", DefaultAudience, err)
			}
			var got claims
			if err := access.Claims(&got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("access token claims (-want +got):\n%s", diff)
			}

			id, err := cli.Verify(t.Context(), tokens.IDToken)
			if err != nil {
				t.Fatalf("verify the ID token for client %q: %v", CLIClientID, err)
			}
			got = claims{}
			if err := id.Claims(&got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ID token claims (-want +got):\n%s", diff)
			}

			// userinfo answers for the access token with the same claims.
			var info claims
			getJSON(t, t.Context(), issuer+"/userinfo", tokens.AccessToken, &info)
			want.Issuer, want.Audience = "", nil
			if diff := cmp.Diff(want, info); diff != "" {
				t.Errorf("userinfo (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAccessTokenRefusedForAnotherAudience(t *testing.T) {
	t.Parallel()
	_, issuer := serve(t, Config{Audience: "routeguide-staging"})
	tok, err := Token(t.Context(), issuer, "bob", "bob-dev-password")
	if err != nil {
		t.Fatal(err)
	}
	provider, err := oidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = provider.Verifier(&oidc.Config{ClientID: DefaultAudience}).Verify(t.Context(), tok)
	if err == nil || !strings.Contains(err.Error(), "audience") {
		t.Errorf("verify for audience %q: err = %v, want an audience mismatch", DefaultAudience, err)
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: "routeguide-staging"}).Verify(t.Context(), tok); err != nil {
		t.Errorf("verify for the configured audience: %v", err)
	}
}

func TestLoginRefused(t *testing.T) {
	t.Parallel()
	_, issuer := serve(t, Config{})
	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", "mod", "alice-dev-password"},
		{"empty password", "mod", ""},
		{"unknown user", "mallory", "mod-dev-password"},
		{"password of another user's prefix", "mod", "mod-dev-passwor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tokens, err := Login{Issuer: issuer, Username: tc.user, Password: tc.password}.Do(t.Context())
			if !errors.Is(err, ErrLoginRefused) {
				t.Errorf("Login(%q, %q) = %+v, %v; want %v", tc.user, tc.password, tokens, err, ErrLoginRefused)
			}
		})
	}
}

func TestLoginFormAfterRefusal(t *testing.T) {
	t.Parallel()
	_, issuer := serve(t, Config{})
	// Start a flow by hand, as a browser would, and stop at the form.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := issuer + "/authorize?" + url.Values{
		"client_id":             {CLIClientID},
		"redirect_uri":          {CLIRedirectURI},
		"response_type":         {"code"},
		"scope":                 {"openid"},
		"code_challenge":        {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"},
	}.Encode()
	resp, err := noFollow.Get(authorize)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	form, err := resp.Location()
	if err != nil {
		t.Fatalf("authorize answered %s without a Location: %v", resp.Status, err)
	}
	id := form.Query().Get("id")

	post := func(password string) *http.Response {
		resp, err := noFollow.PostForm(issuer+"/login", url.Values{"id": {id}, "username": {"alice"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	refused := post("guess")
	b, err := io.ReadAll(refused.Body)
	refused.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	if refused.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong username or password") {
		t.Errorf("wrong password: %s %q, want 401 and the form saying so", refused.Status, body)
	}
	// The refusal does not end the sign-in: the right password still works.
	accepted := post("alice-dev-password")
	accepted.Body.Close()
	next, err := accepted.Location()
	if accepted.StatusCode != http.StatusSeeOther || err != nil || !strings.HasPrefix(next.Path, "/authorize/callback") {
		t.Errorf("right password: %s to %v, want 303 to the callback", accepted.Status, next)
	}
	// A finished sign-in cannot be signed in to again.
	again := post("alice-dev-password")
	again.Body.Close()
	if again.StatusCode != http.StatusBadRequest {
		t.Errorf("second sign-in on one request: %s, want 400", again.Status)
	}

	unknown, err := http.Get(issuer + "/login?id=nope")
	if err != nil {
		t.Fatal(err)
	}
	unknown.Body.Close()
	if unknown.StatusCode != http.StatusBadRequest {
		t.Errorf("form for an unknown request: %s, want 400", unknown.Status)
	}
}

func TestBrowserClient(t *testing.T) {
	t.Parallel()
	const page = "http://127.0.0.1:8080"
	_, issuer := serve(t, Config{Clients: []Client{{ID: "routeguide-web", RedirectURIs: []string{page + "/"}}}})

	tokens, err := Login{Issuer: issuer, ClientID: "routeguide-web", RedirectURI: page + "/", Username: "mod", Password: "mod-dev-password"}.Do(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	provider, err := oidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	access, err := provider.Verifier(&oidc.Config{ClientID: DefaultAudience}).Verify(t.Context(), tokens.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"routeguide-web", DefaultAudience}, access.Audience); diff != "" {
		t.Errorf("access token audience (-want +got):\n%s", diff)
	}

	_, err = Login{Issuer: issuer, ClientID: "routeguide-web", RedirectURI: page + "/elsewhere", Username: "mod", Password: "mod-dev-password"}.Do(t.Context())
	if err == nil || !strings.Contains(err.Error(), "redirect_uri") {
		t.Errorf("sign in with an unregistered redirect URI: err = %v, want it refused naming redirect_uri", err)
	}

	// The page may call the token endpoint from its origin; other sites may not.
	for origin, want := range map[string]string{page: page, "http://127.0.0.1:8081": ""} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, issuer+"/oauth/token", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("preflight from %s: Access-Control-Allow-Origin = %q, want %q", origin, got, want)
		}
	}
}

func TestNoCORSWithoutBrowserClients(t *testing.T) {
	t.Parallel()
	_, issuer := serve(t, Config{})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, issuer+"/oauth/token", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "http://127.0.0.1:8080")
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("preflight with no browser client registered: Access-Control-Allow-Origin = %q, want none", got)
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	p, issuer := serve(t, Config{})
	provider, err := oidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: DefaultAudience})
	before, err := Token(t.Context(), issuer, "alice", "alice-dev-password")
	if err != nil {
		t.Fatal(err)
	}
	// The verifier caches the first key.
	if _, err := verifier.Verify(t.Context(), before); err != nil {
		t.Fatal(err)
	}
	if err := p.RotateKey(); err != nil {
		t.Fatal(err)
	}
	after, err := Token(t.Context(), issuer, "alice", "alice-dev-password")
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct {
		Keys []struct{ Kid string } `json:"keys"`
	}
	getJSON(t, t.Context(), issuer+"/keys", "", &jwks)
	var kids []string
	for _, k := range jwks.Keys {
		kids = append(kids, k.Kid)
	}
	if diff := cmp.Diff([]string{keyID(t, after), keyID(t, before)}, kids); diff != "" {
		t.Errorf("JWKS key IDs after rotation, want the new key then the old (-want +got):\n%s", diff)
	}
	// An unknown key ID makes the verifier fetch the keys again.
	for name, tok := range map[string]string{"after": after, "before": before} {
		if _, err := verifier.Verify(t.Context(), tok); err != nil {
			t.Errorf("verify the token signed %s the rotation: %v", name, err)
		}
	}
}
