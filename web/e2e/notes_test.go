package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server/dataset"
)

// liveDelay is how soon a note posted anywhere must be on the page.
const liveDelay = time.Second

// transports are the page's transports, with what the server sees of the
// page's calls of NotesService over each.
var transports = []struct {
	name                 string
	postNote, watchNotes apiCall
}{
	{
		name:       "grpc-web",
		postNote:   apiCall{Method: "POST", Procedure: "PostNote", ContentType: "application/grpc-web+proto"},
		watchNotes: apiCall{Method: "POST", Procedure: "WatchNotes", ContentType: "application/grpc-web+proto"},
	},
	{
		name:       "connect-json",
		postNote:   apiCall{Method: "POST", Procedure: "PostNote", ContentType: "application/json"},
		watchNotes: apiCall{Method: "POST", Procedure: "WatchNotes", ContentType: "application/connect+json"},
	},
	{
		name:       "connect-binary",
		postNote:   apiCall{Method: "POST", Procedure: "PostNote", ContentType: "application/proto"},
		watchNotes: apiCall{Method: "POST", Procedure: "WatchNotes", ContentType: "application/connect+proto"},
	},
}

// useTransport switches the page to a transport, unless it is on it, and
// waits until the plot is full again and the notes feed is open anew.
func useTransport(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	checked := get(t, ctx, chromedp.Value(chromedp.CSS(`input[name=transport]:checked`)))
	if checked == name {
		return
	}
	run(t, ctx,
		markStale("count"),
		chromedp.Click(chromedp.CSS(`input[name=transport][value="`+name+`"]`)),
		waitState("count", "done"),
	)
}

// notesClient returns a Go client of NotesService on the server, over h2c.
func notesClient(t *testing.T, ts *httptest.Server) notesv1connect.NotesServiceClient {
	t.Helper()
	hc := routeguidetest.H2CClient()
	t.Cleanup(hc.CloseIdleConnections)
	return notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(hc, ts.URL)))
}

// chat sends one note with RouteChat through the Go client, and returns
// the messages of the replies: every note at its location up to and
// including it, oldest first. The server answers once the note is stored.
func chat(t *testing.T, ts *httptest.Server, note *routeguide.RouteNote) []string {
	t.Helper()
	c := newClient(t, ts)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	chat := c.RouteChat(ctx)
	if err := chat.Send(note); err != nil {
		t.Fatalf("RouteChat send: %v", err)
	}
	if err := chat.CloseSend(); err != nil {
		t.Fatalf("RouteChat close: %v", err)
	}
	var replies []string
	for {
		reply, err := chat.Receive()
		if errors.Is(err, io.EOF) {
			return replies
		}
		if err != nil {
			t.Fatalf("RouteChat receive: %v", err)
		}
		replies = append(replies, reply.GetMessage())
	}
}

// postNote posts a note with the Go client's PostNote and returns the
// messages of the notes at its location, oldest first.
func postNote(t *testing.T, notes notesv1connect.NotesServiceClient, note *routeguide.RouteNote) []string {
	t.Helper()
	res, err := notes.PostNote(t.Context(), &notesv1.PostNoteRequest{Note: note})
	if err != nil {
		t.Fatalf("PostNote(%v): %v", note, err)
	}
	var messages []string
	for _, n := range res.GetNotes() {
		messages = append(messages, n.GetMessage())
	}
	return messages
}

// watchArrivals has the page note, in window.arrivals, when each note
// reaches its list, by a MutationObserver, which runs as soon as the page has
// changed: how long a note took is then measured in the page, free of the
// time the test takes to ask. Notes already listed count as arriving now.
func watchArrivals(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		if (window.arrivals) return;
		window.arrivals = new Map();
		const note = () => {
			for (const li of document.querySelectorAll("#notes li")) {
				const key = [li.querySelector(".message").textContent, li.dataset.latitude, li.dataset.longitude].join("|");
				if (!arrivals.has(key)) arrivals.set(key, Date.now());
			}
		};
		new MutationObserver(note).observe(document.getElementById("notes"), {childList: true});
		note();
	})()`))
}

// waitNote waits until the page lists a note with the message at the
// location, and returns how long after the call that stored it (which
// returned at sent) the page had it, failing the test if that is longer than
// within.
func waitNote(t *testing.T, ctx context.Context, note *routeguide.RouteNote, sent time.Time, within time.Duration) time.Duration {
	t.Helper()
	watchArrivals(t, ctx)
	key := fmt.Sprintf("%s|%d|%d", note.GetMessage(), note.GetLocation().GetLatitude(), note.GetLocation().GetLongitude())
	// Past within the test has failed; waiting a little longer tells by how
	// much.
	arrived, err := chromedp.Run(ctx, chromedp.PollFunction[int64](`key => arrivals.get(key)`,
		chromedp.WithPollingArgs(key),
		chromedp.WithPollingInterval(10*time.Millisecond),
		chromedp.WithPollingTimeout(within+5*time.Second),
	))
	if err != nil {
		t.Fatalf("note %q not on the page %v after it was stored: %v", note.GetMessage(), time.Since(sent).Round(time.Millisecond), err)
	}
	took := time.UnixMilli(arrived).Sub(sent)
	if took > within {
		t.Errorf("note %q took %v to reach the page, want at most %v", note.GetMessage(), took.Round(time.Millisecond), within)
	}
	return took
}

// listedNotes returns the messages of the notes the page lists, newest first.
func listedNotes(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return eval[[]string](t, ctx, `[...document.querySelectorAll("#notes li .message")].map(m => m.textContent)`)
}

// noteMarks returns the note marks on the map, by location, with the number
// of notes each counts.
func noteMarks(t *testing.T, ctx context.Context) map[location]int {
	t.Helper()
	type mark struct {
		Latitude, Longitude int32
		Count               string
	}
	marks := eval[[]mark](t, ctx, `[...document.querySelectorAll("#plot g.note")].map(g => ({
		Latitude: Number(g.dataset.latitude), Longitude: Number(g.dataset.longitude), Count: g.dataset.count}))`)
	got := make(map[location]int)
	for _, m := range marks {
		n, err := strconv.Atoi(m.Count)
		if err != nil {
			t.Fatalf("note mark at %d, %d counts %q", m.Latitude, m.Longitude, m.Count)
		}
		got[location{m.Latitude, m.Longitude}] = n
	}
	return got
}

func TestNotesArriveLive(t *testing.T) {
	t.Parallel()
	for _, tt := range transports {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, log := startServer(t, dataset.Default())
			notes := notesClient(t, ts)
			ctx := newTab(t, 1280, 900)
			openPage(t, ctx, ts.URL)
			useTransport(t, ctx, tt.name)

			// The server answers WatchNotes with its headers once the watch
			// is on, and the page then says it is live: from then on a note
			// comes live, not by the replay.
			run(t, ctx, waitState("notes-status", "live"))
			at := &routeguide.Point{Latitude: 488583700, Longitude: 22944810}
			first := &routeguide.RouteNote{Location: at, Message: "Bonjour, over RouteChat, seen over " + tt.name}
			if diff := cmp.Diff([]string{first.GetMessage()}, chat(t, ts, first)); diff != "" {
				t.Errorf("RouteChat answered (-want +got):\n%s", diff)
			}
			took := waitNote(t, ctx, first, time.Now(), liveDelay)
			t.Logf("a note sent with RouteChat was on the page after %v", took.Round(time.Millisecond))
			second := &routeguide.RouteNote{Location: at, Message: "Encore, over PostNote, seen over " + tt.name}
			if diff := cmp.Diff([]string{first.GetMessage(), second.GetMessage()}, postNote(t, notes, second)); diff != "" {
				t.Errorf("PostNote answered (-want +got):\n%s", diff)
			}
			took = waitNote(t, ctx, second, time.Now(), liveDelay)
			t.Logf("a note posted with PostNote was on the page after %v", took.Round(time.Millisecond))

			if diff := cmp.Diff([]string{second.GetMessage(), first.GetMessage()}, listedNotes(t, ctx)); diff != "" {
				t.Errorf("notes listed, newest first (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[location]int{{at.GetLatitude(), at.GetLongitude()}: 2}, noteMarks(t, ctx)); diff != "" {
				t.Errorf("note marks (-want +got):\n%s", diff)
			}
			if got := eval[string](t, ctx, `document.getElementById("notes-status").dataset.count`); got != "2" {
				t.Errorf("notes status counts %s notes, want 2", got)
			}
			// One feed over the transport of the moment: a page that opened
			// on gRPC-Web and switched had one before.
			calls := log.takeNotes()
			if len(calls) == 0 || calls[len(calls)-1] != tt.watchNotes {
				t.Errorf("the page's NotesService calls were %v, want the last %v", calls, tt.watchNotes)
			}
		})
	}
}

func TestPostNoteAtClickedPoint(t *testing.T) {
	t.Parallel()
	for _, tt := range transports {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, log := startServer(t, dataset.Default())
			notes := notesClient(t, ts)
			ctx := newTab(t, 1280, 900)
			openPage(t, ctx, ts.URL)
			useTransport(t, ctx, tt.name)
			log.takeNotes()

			// The South Pacific, far from any feature: the click is taken
			// as it is, to a hundredth of a degree.
			const latitude, longitude = -450000000, -1000000000
			p := toScreen(t, ctx, latitude, longitude)
			run(t, ctx, chromedp.MouseClickXY(p.X, p.Y))
			read := func(id string) int32 {
				s := get(t, ctx, chromedp.Value(chromedp.CSS("#"+id)))
				n, err := strconv.ParseInt(s, 10, 32)
				if err != nil {
					t.Fatalf("#%s holds %q: %v", id, s, err)
				}
				return int32(n)
			}
			at := &routeguide.Point{Latitude: read("note-latitude"), Longitude: read("note-longitude")}
			// A pixel is about a third of a degree at this width.
			if math.Abs(float64(at.GetLatitude()-latitude)) > 0.5e7 || math.Abs(float64(at.GetLongitude()-longitude)) > 0.5e7 {
				t.Fatalf("clicking at %d, %d put %v in the form", latitude, longitude, at)
			}
			if at.GetLatitude()%1e5 != 0 || at.GetLongitude()%1e5 != 0 {
				t.Errorf("clicking put %v in the form, want a hundredth of a degree", at)
			}
			if got := eval[bool](t, ctx, `document.querySelector("#plot g.pick").getAttribute("visibility") === "visible"`); !got {
				t.Error("the map does not mark where the note goes")
			}

			message := "Ahoy from the page over " + tt.name
			run(t, ctx,
				markStale("note-result"),
				chromedp.SetValue(chromedp.CSS("#note-message"), message),
				chromedp.Click(chromedp.CSS("#note-form button")),
				waitState("note-result", "done"),
			)
			if got := eval[[]string](t, ctx, `[...document.querySelectorAll("#note-result .replies li")].map(li => li.textContent)`); !cmp.Equal(got, []string{message + " by anonymous"}) {
				t.Errorf("the page shows the reply %q, want [%q by anonymous]", got, message)
			}
			note := &routeguide.RouteNote{Location: at, Message: message}
			waitNote(t, ctx, note, time.Now(), liveDelay)
			if diff := cmp.Diff(map[location]int{{at.GetLatitude(), at.GetLongitude()}: 1}, noteMarks(t, ctx)); diff != "" {
				t.Errorf("note marks (-want +got):\n%s", diff)
			}

			// The legend's pin and cross hair are the map's. The pin's
			// outline flashes as a note arrives, so only its fill is
			// compared.
			for _, mark := range []struct{ selector, property string }{
				{"g.note path", "fill"},
				{"g.pick circle", "stroke"},
			} {
				look := func(within string) string {
					return eval[string](t, ctx, fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).%s`, within+" "+mark.selector, mark.property))
				}
				if onMap, inLegend := look("#plot"), look("#legend"); onMap != inLegend {
					t.Errorf("%s of %s: %s on the map, %s in the legend", mark.property, mark.selector, onMap, inLegend)
				}
			}

			// The server stored the note where the page said.
			reply := "Ahoy back from Go"
			if diff := cmp.Diff([]string{message, reply}, postNote(t, notes, &routeguide.RouteNote{Location: at, Message: reply})); diff != "" {
				t.Errorf("notes at %v after the page's (-want +got):\n%s", at, diff)
			}
			waitNote(t, ctx, &routeguide.RouteNote{Location: at, Message: reply}, time.Now(), liveDelay)
			if diff := cmp.Diff(map[location]int{{at.GetLatitude(), at.GetLongitude()}: 2}, noteMarks(t, ctx)); diff != "" {
				t.Errorf("note marks (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]apiCall{tt.postNote}, log.takeNotes()); diff != "" {
				t.Errorf("the page's NotesService calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPostNoteShowsServerError checks that a note the server refuses shows
// its code and message, as the Go client gets them.
func TestPostNoteShowsServerError(t *testing.T) {
	t.Parallel()
	ts, _ := startServer(t, dataset.Default())
	notes := notesClient(t, ts)
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, ts.URL)

	bad := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: 950000000}, Message: "too far north"}
	_, err := notes.PostNote(t.Context(), &notesv1.PostNoteRequest{Note: bad})
	wantCode, wantMessage := codeAndMessage(t, err)
	run(t, ctx,
		markStale("note-result"),
		chromedp.SetValue(chromedp.CSS("#note-latitude"), "950000000"),
		chromedp.SetValue(chromedp.CSS("#note-longitude"), "0"),
		chromedp.SetValue(chromedp.CSS("#note-message"), bad.GetMessage()),
		chromedp.Click(chromedp.CSS("#note-form button")),
		waitState("note-result", "error"),
	)
	if got := text(t, ctx, "#note-result .code"); got != wantCode {
		t.Errorf("PostNote error code on the page = %q, want %q", got, wantCode)
	}
	if got := text(t, ctx, "#note-result .message"); got != wantMessage {
		t.Errorf("PostNote error message on the page = %q, want %q", got, wantMessage)
	}
	if got := listedNotes(t, ctx); len(got) != 0 {
		t.Errorf("the page lists %q after a refused note", got)
	}
}

// TestNotesFeedResumes checks that the page's feed, cut off by the server,
// opens again by itself and goes on from the last note it had: nothing
// missed, nothing twice.
func TestNotesFeedResumes(t *testing.T) {
	t.Parallel()
	ts, _ := startServer(t, dataset.Default())
	notes := notesClient(t, ts)
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, ts.URL)

	at := &routeguide.Point{Latitude: 515007290, Longitude: -1246250}
	before := &routeguide.RouteNote{Location: at, Message: "before the cut"}
	postNote(t, notes, before)
	waitNote(t, ctx, before, time.Now(), 10*time.Second)

	// Closing the server's connections ends the feed as a replica's
	// restart would; the page tries again a second later.
	ts.CloseClientConnections()
	run(t, ctx, waitState("notes-status", "retrying"))
	during := &routeguide.RouteNote{Location: at, Message: "while the feed was down"}
	postNote(t, notes, during)
	waitNote(t, ctx, during, time.Now(), 10*time.Second)
	run(t, ctx, waitState("notes-status", "live"))
	after := &routeguide.RouteNote{Location: at, Message: "after it came back"}
	postNote(t, notes, after)
	waitNote(t, ctx, after, time.Now(), liveDelay)

	want := []string{after.GetMessage(), during.GetMessage(), before.GetMessage()}
	if diff := cmp.Diff(want, listedNotes(t, ctx)); diff != "" {
		t.Errorf("notes listed, newest first (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[location]int{{at.GetLatitude(), at.GetLongitude()}: 3}, noteMarks(t, ctx)); diff != "" {
		t.Errorf("note marks (-want +got):\n%s", diff)
	}
}
