package e2e

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
	"github.com/routeguide/routeguide/server/notes"
)

// TestNotesAcrossReplicas checks the page against two replicas sharing one
// JetStream, as behind a balancer: a note sent with RouteChat to the
// replica the page is not on reaches the page within a second, and a note
// the page posts is in the other replica's RouteChat replies.
func TestNotesAcrossReplicas(t *testing.T) {
	t.Parallel()
	node := natstest.Start(t)
	replica := func() *httptest.Server {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		// Each replica has a connection of its own, as in production.
		store, err := notes.OpenJetStream(ctx, notes.JetStreamConfig{URLs: node.URL()})
		if err != nil {
			t.Fatalf("open the notes store: %v", err)
		}
		t.Cleanup(func() { store.Close() })
		ts, _ := startServer(t, dataset.Default(), server.WithNotesStore(store))
		return ts
	}
	pages, other := replica(), replica()
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, pages.URL)

	run(t, ctx, waitState("notes-status", "live"))
	at := &routeguide.Point{Latitude: 515007290, Longitude: -1246250} // Big Ben
	first := &routeguide.RouteNote{Location: at, Message: "From the other replica"}
	chat(t, other, first)
	took := waitNote(t, ctx, first, time.Now(), liveDelay)
	t.Logf("a note sent with RouteChat to another replica was on the page after %v", took.Round(time.Millisecond))
	second := &routeguide.RouteNote{Location: at, Message: "From the other replica, again"}
	chat(t, other, second)
	waitNote(t, ctx, second, time.Now(), liveDelay)

	message := "From the page"
	run(t, ctx,
		markStale("note-result"),
		chromedp.SetValue(chromedp.CSS("#note-latitude"), itoa(at.GetLatitude())),
		chromedp.SetValue(chromedp.CSS("#note-longitude"), itoa(at.GetLongitude())),
		chromedp.SetValue(chromedp.CSS("#note-message"), message),
		chromedp.Click(chromedp.CSS("#note-form button")),
		waitState("note-result", "done"),
	)
	waitNote(t, ctx, &routeguide.RouteNote{Location: at, Message: message}, time.Now(), liveDelay)
	last := &routeguide.RouteNote{Location: at, Message: "Seen the page's?"}
	want := []string{first.GetMessage(), second.GetMessage(), message, last.GetMessage()}
	if diff := cmp.Diff(want, chat(t, other, last)); diff != "" {
		t.Errorf("RouteChat replies on the other replica (-want +got):\n%s", diff)
	}
	waitNote(t, ctx, last, time.Now(), liveDelay)
	if diff := cmp.Diff(map[location]int{{at.GetLatitude(), at.GetLongitude()}: 4}, noteMarks(t, ctx)); diff != "" {
		t.Errorf("note marks (-want +got):\n%s", diff)
	}
}
