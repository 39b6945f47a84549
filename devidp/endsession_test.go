package devidp

import (
	"net/http"
	"net/url"
	"testing"
)

func TestEndSession(t *testing.T) {
	t.Parallel()
	const page = "http://127.0.0.1:8080/"
	_, issuer := serve(t, Config{Clients: []Client{{ID: "routeguide-web", RedirectURIs: []string{page}}}})
	tokens, err := Login{Issuer: issuer, ClientID: "routeguide-web", RedirectURI: page, Username: "bob", Password: "bob-dev-password"}.Do(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	userinfo := func() int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, issuer+"/userinfo", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := userinfo(); got != http.StatusOK {
		t.Fatalf("userinfo before signing out: %d, want 200", got)
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct{ redirect, want string }{
		{page, page},
		{"", issuer + signedOutPath},
	} {
		q := url.Values{"id_token_hint": {tokens.IDToken}}
		if tc.redirect != "" {
			q.Set("post_logout_redirect_uri", tc.redirect)
		}
		resp, err := noFollow.Get(issuer + "/end_session?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Location"); got != tc.want {
			t.Errorf("end_session with post_logout_redirect_uri %q: %s to %q, want a redirect to %q", tc.redirect, resp.Status, got, tc.want)
		}
	}
	if got := userinfo(); got == http.StatusOK {
		t.Errorf("userinfo after signing out: %d, want a refusal", got)
	}
}
