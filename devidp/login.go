package devidp

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// maxLoginForm bounds the body of a login POST; the form has three short
// fields.
const maxLoginForm = 16 << 10

// loginForm is the page the authorize endpoint sends a browser to: a form
// for a username and password, which on success marks the authorization
// request as signed in and redirects to zitadel's callback, which issues
// the code. There is no session: every sign-in shows the form.
type loginForm struct {
	storage  *storage
	callback func(context.Context, string) string // URL that finishes request ID
	issuer   string
	log      *slog.Logger
}

// loginPage is what the form shows; the field names are what [Login] and
// the browser tests fill in.
type loginPage struct {
	RequestID string
	ClientID  string
	Username  string
	Error     string
}

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to RouteGuide (development)</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 22rem; margin: 3rem auto; padding: 0 1rem; }
label, input, button { display: block; width: 100%; box-sizing: border-box; }
input { margin: .25rem 0 1rem; padding: .5rem; }
button { padding: .5rem; }
.error { color: #a00; }
.note { color: #555; font-size: .9em; }
</style>
</head>
<body>
<h1>Sign in</h1>
<p class="note">to {{.ClientID}}, at RouteGuide's development identity provider.</p>
{{if .Error}}<p class="error" role="alert" id="error">{{.Error}}</p>{{end}}
<form method="post" action="` + loginPath + `">
<input type="hidden" name="id" value="{{.RequestID}}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required value="{{.Username}}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="sign-in" type="submit">Sign in</button>
</form>
</body>
</html>
`))

func (f *loginForm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		f.show(w, r.URL.Query().Get("id"), "", "", http.StatusOK)
	case http.MethodPost:
		f.submit(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// show renders the form for the request with that ID, or a plain error
// when there is no such request to sign in to.
func (f *loginForm) show(w http.ResponseWriter, id, username, problem string, status int) {
	a, err := f.storage.authRequest(id)
	if err != nil {
		http.Error(w, "this sign-in has expired or never started: go back to the page and sign in again", http.StatusBadRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// No script runs on the page, and no other site may frame it.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	page := loginPage{RequestID: a.id, ClientID: a.clientID, Username: username, Error: problem}
	if err := loginTemplate.Execute(w, page); err != nil {
		f.log.Warn("write login form", "err", err)
	}
}

func (f *loginForm) submit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "cannot read the form: "+err.Error(), http.StatusBadRequest)
		return
	}
	id, username := r.PostForm.Get("id"), r.PostForm.Get("username")
	u, ok := f.storage.checkPassword(username, r.PostForm.Get("password"))
	if !ok {
		f.log.Info("sign-in refused", "username", username)
		f.show(w, id, username, "Wrong username or password.", http.StatusUnauthorized)
		return
	}
	if err := f.storage.completeLogin(id, u.Subject); err != nil {
		http.Error(w, "this sign-in has expired or is finished: go back to the page and sign in again", http.StatusBadRequest)
		return
	}
	f.log.Info("signed in", "username", u.Username)
	http.Redirect(w, r, f.callback(op.ContextWithIssuer(r.Context(), f.issuer), id), http.StatusSeeOther)
}

// signedOut is where the end_session endpoint sends a browser whose client
// named no other place.
func signedOut(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("Signed out of RouteGuide's development identity provider.\n"))
}
