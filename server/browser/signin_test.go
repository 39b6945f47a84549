package browser_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/server/browser"
)

func TestPageWithSignIn(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		signIn     browser.SignIn
		wantConfig map[string]string
		wantPolicy string // a part of the page's Content-Security-Policy
	}{
		"none": {
			wantConfig: map[string]string{"writes": "anyone"},
			wantPolicy: "default-src 'self'; base-uri",
		},
		"signed-in writes": {
			signIn: browser.SignIn{Issuer: "http://127.0.0.1:5556", ClientID: "routeguide-web", WritesNeedSignIn: true},
			wantConfig: map[string]string{
				"issuer": "http://127.0.0.1:5556", "clientId": "routeguide-web", "writes": "signed-in",
			},
			wantPolicy: "connect-src 'self' http://127.0.0.1:5556;",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, err := browser.PageWith(tt.signIn)
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(h)
			defer ts.Close()
			res, err := http.Get(ts.URL + "/auth-config.json")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if got, want := res.Header.Get("Content-Type"), "application/json"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			var got map[string]string
			if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantConfig, got); diff != "" {
				t.Errorf("/auth-config.json (-want +got):\n%s", diff)
			}
			page, err := http.Get(ts.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, page.Body)
			page.Body.Close()
			if policy := page.Header.Get("Content-Security-Policy"); !strings.Contains(policy, tt.wantPolicy) {
				t.Errorf("Content-Security-Policy = %q, want it to contain %q", policy, tt.wantPolicy)
			}
		})
	}
}

func TestPageWithRefuses(t *testing.T) {
	t.Parallel()
	for _, s := range []browser.SignIn{
		{Issuer: "http://127.0.0.1:5556"},                   // no client ID
		{Issuer: "ftp://idp.example", ClientID: "x"},        // not http
		{Issuer: "https://", ClientID: "x"},                 // no host
		{Issuer: "http://[::1", ClientID: "routeguide-web"}, // not a URL
	} {
		if _, err := browser.PageWith(s); err == nil {
			t.Errorf("PageWith(%+v) gave no error", s)
		}
	}
}
