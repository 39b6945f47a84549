package e2e

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

// When the store began again while the page was open (a memory store's
// server restarted), the page's resume is refused, and it shows the new
// store's notes only, though their sequences repeat the old ones'.
func TestFeedStartsOverWhenStoreBeginsAgain(t *testing.T) {
	t.Parallel()
	newReplica := func() (*server.Server, notes.Store) {
		store := notes.NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 20})
		srv, err := server.New(dataset.Default(), server.WithNotesStore(store))
		if err != nil {
			t.Fatal(err)
		}
		return srv, store
	}
	old, oldStore := newReplica()
	var current atomic.Pointer[server.Server]
	current.Store(old)
	ts := routeguidetest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		current.Load().ServeHTTP(w, r)
	}))
	at := &routeguide.Point{Latitude: 409146138, Longitude: -746188906}
	for _, m := range []string{"before 1", "before 2"} {
		if _, err := oldStore.Add(t.Context(), &routeguide.RouteNote{Location: at, Message: m}, notes.Author{}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, ts.URL)
	waitNote(t, ctx, &routeguide.RouteNote{Location: at, Message: "before 2"}, time.Now(), liveDelay)

	restarted, newStore := newReplica()
	if _, err := newStore.Add(t.Context(), &routeguide.RouteNote{Location: at, Message: "after"}, notes.Author{}); err != nil {
		t.Fatal(err)
	}
	current.Store(restarted)
	old.Drain() // ends the page's feed, which resumes against the new store

	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](`() => {
		const m = [...document.querySelectorAll("#notes li .message")].map(m => m.textContent);
		return m.length === 1 && m[0] === "after";
	}`, chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("after the store began again the page lists %q, want only the new store's note: %v",
			listedNotes(t, ctx), err)
	}
	if got := noteMarks(t, ctx)[location{at.Latitude, at.Longitude}]; got != 1 {
		t.Errorf("the pin counts %d notes, want 1", got)
	}
}
