package devidp

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// FuzzLoginForm posts arbitrary bodies to the login form: it must answer
// 303 only for a known user's right password, 400 or 401 otherwise, and
// never fail.
func FuzzLoginForm(f *testing.F) {
	f.Add("username=mod&password=mod-dev-password")
	f.Add("username=mod&password=mod-dev-password&password=x")
	f.Add("username=mod&password=MOD-dev-password")
	f.Add("username=%ff&password=%")
	f.Add("username=alice&password=alice-dev-password%00")
	f.Add(strings.Repeat("a", maxLoginForm+1))
	p, err := New(Config{Issuer: "http://127.0.0.1:5556"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		a, err := p.storage.CreateAuthRequest(t.Context(), &oidc.AuthRequest{ClientID: CLIClientID, RedirectURI: CLIRedirectURI, ResponseType: oidc.ResponseTypeCode}, "")
		if err != nil {
			t.Fatal(err)
		}
		defer p.storage.DeleteAuthRequest(t.Context(), a.GetID())
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/login", strings.NewReader("id="+a.GetID()+"&"+body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		p.ServeHTTP(w, req)

		form, parseErr := url.ParseQuery(body)
		_, known := p.storage.checkPassword(form.Get("username"), form.Get("password"))
		switch w.Code {
		case http.StatusSeeOther:
			if parseErr != nil || !known {
				t.Errorf("303 for %q, which names no user with that password", body)
			}
		case http.StatusBadRequest, http.StatusUnauthorized:
			if parseErr == nil && known && len(body) < maxLoginForm-100 {
				t.Errorf("%d for %q, a user's right password", w.Code, body)
			}
		default:
			t.Errorf("%d for %q, want 303, 400 or 401", w.Code, body)
		}
	})
}
