package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/devidp"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server"
	serverbrowser "github.com/routeguide/routeguide/server/browser"
	"github.com/routeguide/routeguide/server/dataset"
	"github.com/routeguide/routeguide/server/identity"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

// pageClientID is the client the page signs in as at the provider.
const pageClientID = "routeguide-web"

// signInSite is a RouteGuide server whose page signs in at a devidp
// provider of its own, both on loopback.
type signInSite struct {
	ts     *httptest.Server // RouteGuide
	issuer string
	store  notes.Store
	// bearers records the Authorization headers of browsers' writes.
	bearers *bearerLog
}

// startSignInSite starts a provider that has the page registered and a
// RouteGuide server that tells its page to sign in there; options go to
// server.New after the test's own.
func startSignInSite(t *testing.T, writesNeedSignIn bool, options ...server.Option) *signInSite {
	t.Helper()
	idpServer := httptest.NewUnstartedServer(nil)
	issuer := "http://" + idpServer.Listener.Addr().String()
	pageServer := httptest.NewUnstartedServer(nil)
	pageURL := "http://" + pageServer.Listener.Addr().String()
	idp, err := devidp.New(devidp.Config{
		Issuer:  issuer,
		Clients: []devidp.Client{{ID: pageClientID, RedirectURIs: []string{pageURL + "/"}}},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	idpServer.Config.Handler = idp
	idpServer.Start()
	t.Cleanup(idpServer.Close)

	// The server verifies the provider's tokens, as --auth-issuer and
	// --auth-audience have it do.
	verifier, err := identity.New(t.Context(), identity.Config{Issuer: issuer, Audiences: []string{devidp.DefaultAudience}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(verifier.Close)
	writes := server.WritesAnyone
	if writesNeedSignIn {
		writes = server.WritesSignedIn
	}
	store := notes.NewMemory(limits.Limits{MaxNotesPerLocation: 100, MaxStoredNoteBytes: 1 << 20})
	srv, err := server.New(dataset.Default(), append([]server.Option{
		server.WithNotesStore(store),
		server.WithIdentity(verifier, writes),
		server.WithPageSignIn(serverbrowser.SignIn{Issuer: issuer, ClientID: pageClientID, WritesNeedSignIn: writesNeedSignIn}),
	}, options...)...)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	bearers := new(bearerLog)
	pageServer.Config.Handler = bearers.wrap(srv)
	pageServer.Config.Protocols = new(http.Protocols)
	pageServer.Config.Protocols.SetHTTP1(true)
	pageServer.Config.Protocols.SetUnencryptedHTTP2(true)
	pageServer.Start()
	t.Cleanup(pageServer.Close)
	return &signInSite{ts: pageServer, issuer: issuer, store: store, bearers: bearers}
}

// bearerLog records the bearer tokens sent with each procedure of
// NotesService.
type bearerLog struct {
	mu     sync.Mutex
	tokens map[string][]string // by procedure; guarded by mu
}

func (l *bearerLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if procedure, ok := strings.CutPrefix(r.URL.Path, "/routeguide.notes.v1.NotesService/"); ok {
			token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			l.mu.Lock()
			if l.tokens == nil {
				l.tokens = make(map[string][]string)
			}
			l.tokens[procedure] = append(l.tokens[procedure], token)
			l.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// take returns the tokens sent with a procedure so far and forgets them.
func (l *bearerLog) take(procedure string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	tokens := l.tokens[procedure]
	delete(l.tokens, procedure)
	return tokens
}

// signIn signs the page in as a devidp user, through the provider's own
// form, and waits until the page is back and says who is signed in.
func signIn(t *testing.T, ctx context.Context, user string) {
	t.Helper()
	run(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(`#account-sign-in`)),
		chromedp.Click(chromedp.CSS(`#account-sign-in`)),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), user+"-dev-password"),
		chromedp.Click(chromedp.CSS(`#sign-in`)),
		chromedp.WaitVisible(chromedp.CSS(`#account[data-state="signed-in"]`)),
		waitState("count", "done"),
	)
	watchArrivals(t, ctx)
}

// subjectOf verifies an access token against the provider, as a server
// would, and returns its subject.
func subjectOf(t *testing.T, issuer, token string) string {
	t.Helper()
	provider, err := oidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	verified, err := provider.Verifier(&oidc.Config{ClientID: devidp.DefaultAudience}).Verify(t.Context(), token)
	if err != nil {
		t.Fatalf("the page's token does not verify: %v", err)
	}
	return verified.Subject
}

// postFromPage posts a note with the page's form and waits for the answer.
func postFromPage(t *testing.T, ctx context.Context, latitude, longitude int32, message string, wantState string) {
	t.Helper()
	run(t, ctx,
		markStale("note-result"),
		chromedp.SetValue(chromedp.CSS(`#note-latitude`), fmt.Sprint(latitude)),
		chromedp.SetValue(chromedp.CSS(`#note-longitude`), fmt.Sprint(longitude)),
		chromedp.SetValue(chromedp.CSS(`#note-message`), message),
		chromedp.Click(chromedp.CSS(`#note-form button[type=submit]`)),
		waitState("note-result", wantState),
	)
}

// waitGone waits until no element matches the selector: the DOM condition
// itself, polled in the page.
func waitGone(t *testing.T, ctx context.Context, selector string, within time.Duration) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](`s => document.querySelector(s) === null`,
		chromedp.WithPollingArgs(selector),
		chromedp.WithPollingInterval(10*time.Millisecond),
		chromedp.WithPollingTimeout(within),
	))
	if err != nil {
		t.Fatalf("%s still on the page after %v: %v", selector, within, err)
	}
}

// The page signs in with the provider's own form and sends the access
// token with every write, over each of its transports, and never with a
// read.
func TestSignInSendsTokenWithWrites(t *testing.T) {
	t.Parallel()
	site := startSignInSite(t, false)
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, site.ts.URL)
	signIn(t, ctx, "alice")
	if got, want := text(t, ctx, "#account-name"), "Signed in as Alice Liddell"; got != want {
		t.Errorf("account = %q, want %q", got, want)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#notes button.delete").length`); n != 0 {
		t.Errorf("alice, no moderator, sees %d delete controls", n)
	}
	for i, tt := range transports {
		useTransport(t, ctx, tt.name)
		postFromPage(t, ctx, 400000000+int32(i), -740000000, "signed "+tt.name, "done")
		tokens := site.bearers.take("PostNote")
		if len(tokens) != 1 || tokens[0] == "" {
			t.Fatalf("%s: PostNote carried tokens %q, want one", tt.name, tokens)
		}
		if got, want := subjectOf(t, site.issuer, tokens[0]), "alice"; got != want {
			t.Errorf("%s: token's subject = %q, want %q", tt.name, got, want)
		}
		for _, token := range site.bearers.take("WatchNotes") {
			if token != "" {
				t.Errorf("%s: WatchNotes, a read, carried a token", tt.name)
			}
		}
	}
	// Signing out forgets the token.
	run(t, ctx, chromedp.Click(chromedp.CSS(`#account-sign-out`)),
		chromedp.WaitVisible(chromedp.CSS(`#account[data-state="signed-out"]`)),
		waitState("count", "done"))
	postFromPage(t, ctx, 400000000, -740000000, "anonymous again", "done")
	if got := site.bearers.take("PostNote"); !cmp.Equal(got, []string{""}) {
		t.Errorf("after sign-out PostNote carried %q, want no token", got)
	}
}

// Authors are shown beside each note, and a note deleted from the store
// leaves the list and its pin on an open page within a second.
func TestAuthorsAndLiveDeletion(t *testing.T) {
	t.Parallel()
	site := startSignInSite(t, false)
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, site.ts.URL)
	at := &routeguide.Point{Latitude: 409146138, Longitude: -746188906}
	byAlice, err := site.store.Add(t.Context(), &routeguide.RouteNote{Location: at, Message: "from alice"},
		notes.Author{ID: "a-1", Name: "Alice Liddell"})
	if err != nil {
		t.Fatal(err)
	}
	anonymous := &routeguide.RouteNote{Location: at, Message: "from nobody"}
	if _, err := site.store.Add(t.Context(), anonymous, notes.Author{}); err != nil {
		t.Fatal(err)
	}
	waitNote(t, ctx, anonymous, time.Now(), liveDelay)
	type listed struct{ Message, Author string }
	got := eval[[]listed](t, ctx, `[...document.querySelectorAll("#notes li")].map(li => ({
		Message: li.querySelector(".message").textContent, Author: li.querySelector(".author").textContent}))`)
	want := []listed{{"from nobody", "anonymous"}, {"from alice", "Alice Liddell"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notes listed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[location]int{{at.Latitude, at.Longitude}: 2}, noteMarks(t, ctx)); diff != "" {
		t.Errorf("note marks (-want +got):\n%s", diff)
	}

	seq := byAlice[len(byAlice)-1].Seq
	if _, err := site.store.Delete(t.Context(), seq); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ctx, fmt.Sprintf(`#notes li[data-sequence="%d"]`, seq), liveDelay)
	if diff := cmp.Diff(map[location]int{{at.Latitude, at.Longitude}: 1}, noteMarks(t, ctx)); diff != "" {
		t.Errorf("note marks after one deletion (-want +got):\n%s", diff)
	}
	last := byAlice[0].Seq + 1 // the anonymous note
	if _, err := site.store.Delete(t.Context(), last); err != nil {
		t.Fatal(err)
	}
	pin := fmt.Sprintf(`#plot g.note[data-latitude="%d"][data-longitude="%d"]`, at.Latitude, at.Longitude)
	waitGone(t, ctx, pin, liveDelay)
	if got := listedNotes(t, ctx); len(got) != 0 {
		t.Errorf("notes listed after both were deleted: %q", got)
	}
}

// A message with a right-to-left override cannot reverse the coordinates
// and time printed after it: the message is isolated.
func TestMessageInBidiIsolation(t *testing.T) {
	t.Parallel()
	site := startSignInSite(t, false)
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, site.ts.URL)
	note := &routeguide.RouteNote{
		Location: &routeguide.Point{Latitude: 409146138, Longitude: -746188906},
		Message:  "evil \u202etxet",
	}
	if _, err := site.store.Add(t.Context(), note, notes.Author{}); err != nil {
		t.Fatal(err)
	}
	waitNote(t, ctx, note, time.Now(), liveDelay)
	// The rendered order, left to right: where each part's box starts.
	// Without isolation the override carries on past the message, and the
	// parts after it are laid out right to left.
	type boxes struct{ Message, Coords, Time, Author float64 }
	got := eval[boxes](t, ctx, `(() => {
		const li = document.querySelector("#notes li");
		const x = s => li.querySelector(s).getBoundingClientRect().left;
		return {Message: x(".message"), Coords: x(".coords"), Time: x("time"), Author: x(".author")};
	})()`)
	if !(got.Message < got.Coords && got.Coords < got.Time && got.Time < got.Author) {
		t.Errorf("parts of the note from the left: %+v, want message, coordinates, time, author", got)
	}
	saveScreenshot(t, ctx, "bidi.png")
}

// With writes for signed-in users only, the page says so before anyone
// posts, and sends nothing.
func TestSignInNeededToPost(t *testing.T) {
	t.Parallel()
	site := startSignInSite(t, true)
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, site.ts.URL)
	run(t, ctx, waitState("note-result", "sign-in-needed"))
	if got := text(t, ctx, "#note-result"); !strings.Contains(got, "Sign in to post") {
		t.Errorf("note form says %q, want it to ask for a sign-in", got)
	}
	postFromPage(t, ctx, 400000000, -740000000, "anonymous", "sign-in-needed")
	if got := site.bearers.take("PostNote"); len(got) != 0 {
		t.Errorf("an anonymous page sent PostNote %d times, want none", len(got))
	}
	signIn(t, ctx, "bob")
	run(t, ctx, waitState("note-result", "empty"))
}

// A moderator sees a delete control on each note, and the control calls
// DeleteNote with the moderator's token; other users see none.
func TestModeratorSeesDeleteControls(t *testing.T) {
	t.Parallel()
	site := startSignInSite(t, true)
	at := &routeguide.Point{Latitude: 488583700, Longitude: 22944810}
	for _, n := range []struct {
		message string
		author  notes.Author
	}{
		{"Bonjour from the tower", notes.Author{ID: "a-1", Name: "Alice Liddell"}},
		{"Windy up here", notes.Author{ID: "b-2", Name: "Bob Bobson"}},
		{"Posted before sign-in was on", notes.Author{}},
	} {
		if _, err := site.store.Add(t.Context(), &routeguide.RouteNote{Location: at, Message: n.message}, n.author); err != nil {
			t.Fatal(err)
		}
	}
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, site.ts.URL)
	signIn(t, ctx, "mod")
	if got, want := text(t, ctx, "#account-name"), "Signed in as Molly Moderator (moderator)"; got != want {
		t.Errorf("account = %q, want %q", got, want)
	}
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#notes li:nth-child(3) button.delete`)))
	if got := eval[int](t, ctx, `document.querySelectorAll("#notes li button.delete").length`); got != 3 {
		t.Errorf("moderator sees %d delete controls, want one for each of 3 notes", got)
	}
	if got, want := eval[[]string](t, ctx, `[...document.querySelectorAll("#notes li .author")].map(a => a.textContent)`),
		[]string{"anonymous", "Bob Bobson", "Alice Liddell"}; !cmp.Equal(got, want) {
		t.Errorf("authors listed = %q, want %q", got, want)
	}
	saveElementScreenshot(t, ctx, "section.notes", "screenshot-signed-in.png")

	first := eval[string](t, ctx, `document.querySelector("#notes li").dataset.sequence`)
	run(t, ctx, chromedp.Click(chromedp.CSS(`#notes li button.delete`)))
	waitGone(t, ctx, fmt.Sprintf(`#notes li[data-sequence="%s"]`, first), 5*time.Second)
	tokens := site.bearers.take("DeleteNote")
	if len(tokens) != 1 {
		t.Fatalf("DeleteNote sent %d times, want once", len(tokens))
	}
	if got, want := subjectOf(t, site.issuer, tokens[0]), "mod"; got != want {
		t.Errorf("DeleteNote's token's subject = %q, want %q", got, want)
	}
	if got, want := listedNotes(t, ctx), []string{"Windy up here", "Bonjour from the tower"}; !cmp.Equal(got, want) {
		t.Errorf("notes listed after the deletion = %q, want %q", got, want)
	}
}

// Signed in as alice, a page posts a note that another page shows with
// alice's name; a moderator deletes it from a third page, and it leaves the
// second page's list and map within a second. An anonymous page cannot post.
func TestPostAsAliceDeleteAsModerator(t *testing.T) {
	t.Parallel()
	site := startSignInSite(t, true)
	alice := newTab(t, 1280, 900)
	openPage(t, alice, site.ts.URL)
	signIn(t, alice, "alice")
	watcher := newTab(t, 1280, 900)
	openPage(t, watcher, site.ts.URL)
	run(t, watcher, waitState("note-result", "sign-in-needed"))

	at := &routeguide.Point{Latitude: 515007290, Longitude: -1246250}
	postFromPage(t, alice, at.Latitude, at.Longitude, "Tea at the palace", "done")
	if got, want := text(t, alice, "#note-result .replies li .author"), "Alice Liddell"; got != want {
		t.Errorf("PostNote's answer names the author %q, want %q", got, want)
	}
	waitNote(t, watcher, &routeguide.RouteNote{Location: at, Message: "Tea at the palace"}, time.Now(), liveDelay)
	if got, want := text(t, watcher, "#notes li .author"), "Alice Liddell"; got != want {
		t.Errorf("the other page names the author %q, want %q", got, want)
	}
	if n := eval[int](t, watcher, `document.querySelectorAll("#notes button.delete").length`); n != 0 {
		t.Errorf("an anonymous page shows %d delete controls", n)
	}

	mod := newTab(t, 1280, 900)
	openPage(t, mod, site.ts.URL)
	signIn(t, mod, "mod")
	run(t, mod, chromedp.WaitVisible(chromedp.CSS(`#notes li button.delete`)))
	sequence := eval[string](t, mod, `document.querySelector("#notes li").dataset.sequence`)
	run(t, mod, chromedp.Click(chromedp.CSS(`#notes li button.delete`)))
	pin := fmt.Sprintf(`#plot g.note[data-latitude="%d"][data-longitude="%d"]`, at.Latitude, at.Longitude)
	// waitGone polls the page every 10 ms, so a second past the click is
	// a second past DeleteNote's sending, give or take a poll.
	deleted := time.Now()
	waitGone(t, watcher, fmt.Sprintf(`#notes li[data-sequence="%s"]`, sequence), liveDelay)
	waitGone(t, watcher, pin, liveDelay)
	t.Logf("the deletion left the other page in %v", time.Since(deleted).Round(time.Millisecond))
	if got := text(t, mod, "#notes-status"); !strings.Contains(got, "Live") {
		t.Errorf("moderator's feed: %q", got)
	}
}

// saveElementScreenshot saves a screenshot of the first element that
// matches a CSS selector.
func saveElementScreenshot(t *testing.T, ctx context.Context, selector, name string) {
	t.Helper()
	png := get(t, ctx, chromedp.Screenshot(chromedp.CSS(selector)))
	path := filepath.Join(screenshotDir(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
