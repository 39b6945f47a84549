package e2e

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"connectrpc.com/connect/v2"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
)

// startServer serves RouteGuide over features on loopback, recording the
// API calls it receives.
func startServer(t *testing.T, features []*routeguide.Feature, options ...server.Option) (*httptest.Server, *apiLog) {
	t.Helper()
	srv, err := server.New(features, options...)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	log := new(apiLog)
	return routeguidetest.NewServer(t, log.wrap(srv)), log
}

// newClient returns a Go client of the server, the reference the page's
// answers are compared with.
func newClient(t *testing.T, ts *httptest.Server) *client.Client {
	t.Helper()
	c, err := client.New(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// openPage loads the page and waits until the plot is full. The test fails
// if the page throws an exception that nothing catches, or breaks its
// Content Security Policy.
func openPage(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	watchConsole(t, ctx)
	run(t, ctx, chromedp.Navigate(url), waitState("count", "done"))
	watchArrivals(t, ctx)
}

func watchConsole(t *testing.T, ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	messages := chromedp.Console(ctx)
	var bad []string // written by the goroutine, read after done
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				bad = append(bad, m.String())
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		for _, m := range bad {
			t.Errorf("page console: %s", m)
		}
	})
}

// location is a point as the tests compare them.
type location struct{ Latitude, Longitude int32 }

// listed is a feature as the page lists it.
type listed struct {
	Name                string
	Latitude, Longitude int32
}

func plotted(t *testing.T, ctx context.Context) []location {
	t.Helper()
	return eval[[]location](t, ctx, `[...document.querySelectorAll("#plot circle.feature")].map(c => ({
		Latitude: Number(c.dataset.latitude), Longitude: Number(c.dataset.longitude)}))`)
}

func listedFeatures(t *testing.T, ctx context.Context) []listed {
	t.Helper()
	return eval[[]listed](t, ctx, `[...document.querySelectorAll("#list li")].map(li => ({
		Name: li.querySelector(".name").textContent,
		Latitude: Number(li.dataset.latitude), Longitude: Number(li.dataset.longitude)}))`)
}

// listFeatures asks the server through the Go client, and returns the
// features as the page should list them.
func listFeatures(t *testing.T, c *client.Client, rect *routeguide.Rectangle) []listed {
	t.Helper()
	want := []listed{}
	for f, err := range c.ListFeatures(t.Context(), rect) {
		if err != nil {
			t.Fatalf("ListFeatures(%v): %v", rect, err)
		}
		want = append(want, listed{Name: pageName(f), Latitude: f.GetLocation().GetLatitude(), Longitude: f.GetLocation().GetLongitude()})
	}
	return want
}

// pageName is how the page names a feature in its list.
func pageName(f *routeguide.Feature) string {
	if f.GetName() == "" {
		return "Unnamed point"
	}
	return f.GetName()
}

func rectangleForm(t *testing.T, ctx context.Context) *routeguide.Rectangle {
	t.Helper()
	read := func(id string) int32 {
		s := get(t, ctx, chromedp.Value(chromedp.CSS("#"+id)))
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			t.Fatalf("#%s holds %q: %v", id, s, err)
		}
		return int32(n)
	}
	return &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: read("lo-latitude"), Longitude: read("lo-longitude")},
		Hi: &routeguide.Point{Latitude: read("hi-latitude"), Longitude: read("hi-longitude")},
	}
}

// fillRectangle types a rectangle into the form and submits it.
func fillRectangle(t *testing.T, ctx context.Context, r *routeguide.Rectangle) {
	t.Helper()
	run(t, ctx,
		markStale("list-status"),
		chromedp.SetValue(chromedp.CSS("#lo-latitude"), itoa(r.GetLo().GetLatitude())),
		chromedp.SetValue(chromedp.CSS("#lo-longitude"), itoa(r.GetLo().GetLongitude())),
		chromedp.SetValue(chromedp.CSS("#hi-latitude"), itoa(r.GetHi().GetLatitude())),
		chromedp.SetValue(chromedp.CSS("#hi-longitude"), itoa(r.GetHi().GetLongitude())),
		chromedp.Click(chromedp.CSS("#rect-form button")),
	)
}

// fillPoint types a point into the form and submits it.
func fillPoint(t *testing.T, ctx context.Context, latitude, longitude string) {
	t.Helper()
	run(t, ctx,
		markStale("feature-result"),
		chromedp.SetValue(chromedp.CSS("#point-latitude"), latitude),
		chromedp.SetValue(chromedp.CSS("#point-longitude"), longitude),
		chromedp.Click(chromedp.CSS("#point-form button")),
	)
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func locationsOf(features []*routeguide.Feature) []location {
	var out []location
	for _, f := range features {
		out = append(out, location{f.GetLocation().GetLatitude(), f.GetLocation().GetLongitude()})
	}
	return out
}

func sortLocations(l []location) []location {
	slices.SortFunc(l, func(a, b location) int {
		if a.Latitude != b.Latitude {
			return int(a.Latitude - b.Latitude)
		}
		return int(a.Longitude - b.Longitude)
	})
	return l
}

func TestPlotShowsEveryFeature(t *testing.T) {
	t.Parallel()
	datasets := map[string]func(*testing.T) []*routeguide.Feature{
		"embedded":  func(*testing.T) []*routeguide.Feature { return dataset.Default() },
		"canonical": func(t *testing.T) []*routeguide.Feature { return routeguidetest.CanonicalFeatures(t) },
	}
	for name, load := range datasets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			features := load(t)
			ts, _ := startServer(t, features)
			ctx := newTab(t, 1280, 900)
			openPage(t, ctx, ts.URL)

			count := get(t, ctx, chromedp.AttributeValue(chromedp.CSS("#count"), "data-count")).Value
			if want := strconv.Itoa(len(features)); count != want {
				t.Errorf("live count = %s, want %s", count, want)
			}
			got := sortLocations(plotted(t, ctx))
			want := sortLocations(locationsOf(features))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("plotted points differ from the dataset (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClickPointLooksItUp(t *testing.T) {
	t.Parallel()
	ts, log := startServer(t, dataset.Default())
	c := newClient(t, ts)
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, ts.URL)
	log.take()

	// The Eiffel Tower, which the embedded dataset has.
	point := &routeguide.Point{Latitude: 488583700, Longitude: 22944810}
	want, err := c.GetFeature(t.Context(), point)
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`#plot circle[data-latitude="488583700"][data-longitude="22944810"]`)),
		waitState("feature-result", "done"),
	)
	if got := text(t, ctx, "#feature-result .name"); got != want.GetName() {
		t.Errorf("page shows %q, want %q", got, want.GetName())
	}
	if got := len(plottedWith(t, ctx, "selected")); got != 1 {
		t.Errorf("%d points marked selected, want 1", got)
	}
	// The default transport, gRPC-Web, has no GET: the call is a POST.
	if diff := cmp.Diff([]apiCall{{Method: "POST", Procedure: "GetFeature", ContentType: "application/grpc-web+proto"}}, log.take()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// plottedWith returns the points carrying a class.
func plottedWith(t *testing.T, ctx context.Context, class string) []location {
	t.Helper()
	return eval[[]location](t, ctx, `[...document.querySelectorAll("#plot circle.feature.`+class+`")].map(c => ({
		Latitude: Number(c.dataset.latitude), Longitude: Number(c.dataset.longitude)}))`)
}

func TestKeyboardLooksUpPoints(t *testing.T) {
	t.Parallel()
	ts, _ := startServer(t, dataset.Default())
	c := newClient(t, ts)
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, ts.URL)

	// Tab from the transport switch reaches the map in one stop: the map is
	// a single stop, wherever its points are.
	run(t, ctx,
		chromedp.Focus(chromedp.CSS(`input[name=transport]:checked`)),
		chromedp.KeyEvent(kb.Tab),
	)
	focused := func() location {
		return eval[location](t, ctx, `(() => { const d = document.activeElement.dataset ?? {};
			return {Latitude: Number(d.latitude ?? 0), Longitude: Number(d.longitude ?? 0)}; })()`)
	}
	if !eval[bool](t, ctx, `document.activeElement.matches("#plot circle.feature")`) {
		t.Fatal("Tab from the transport switch did not reach a point of the map")
	}
	// Home goes to the westernmost point; Right then goes east.
	run(t, ctx, chromedp.KeyEvent(kb.Home))
	west := focused()
	run(t, ctx, chromedp.KeyEvent(kb.ArrowRight))
	next := focused()
	if !(next.Longitude >= west.Longitude) || next == west {
		t.Errorf("after Home at %v, Right moved to %v, want a point further east", west, next)
	}
	run(t, ctx, markStale("feature-result"), chromedp.KeyEvent(kb.Enter), waitState("feature-result", "done"))
	want, err := c.GetFeature(t.Context(), &routeguide.Point{Latitude: next.Latitude, Longitude: next.Longitude})
	if err != nil {
		t.Fatal(err)
	}
	got := text(t, ctx, "#feature-result .name")
	wantName := want.GetName()
	if wantName == "" {
		wantName = "No feature is known at this point."
	}
	if got != wantName {
		t.Errorf("Enter on %v shows %q, want %q", next, got, wantName)
	}
}

func TestDragListsWhatServerReturns(t *testing.T) {
	t.Parallel()
	features := dataset.Default()
	ts, _ := startServer(t, features)
	c := newClient(t, ts)
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, ts.URL)

	// From north-west of Iceland to south-east of Istanbul: most of Europe.
	from := toScreen(t, ctx, 680000000, -300000000)
	to := toScreen(t, ctx, 350000000, 400000000)
	run(t, ctx, markStale("list-status"), drag(from, to), waitState("list-status", "done"))

	// The page put the rectangle it asked for into the form.
	rect := rectangleForm(t, ctx)
	want := listFeatures(t, c, rect)
	if len(want) < 10 {
		t.Fatalf("the dragged rectangle %v holds only %d features; the test means to drag over Europe", rect, len(want))
	}
	if diff := cmp.Diff(want, listedFeatures(t, ctx)); diff != "" {
		t.Errorf("listed features differ from the server's for %v (-want +got):\n%s", rect, diff)
	}
	checkHighlights(t, ctx, features, want)

	// Corners typed in the other order, as the server accepts them.
	typed := &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: 500000000, Longitude: -600000000},
		Hi: &routeguide.Point{Latitude: 250000000, Longitude: -1250000000},
	}
	fillRectangle(t, ctx, typed)
	run(t, ctx, waitState("list-status", "done"))
	want = listFeatures(t, c, typed)
	if len(want) == 0 {
		t.Fatal("the typed rectangle holds no features; the test means to cover North America")
	}
	if diff := cmp.Diff(want, listedFeatures(t, ctx)); diff != "" {
		t.Errorf("listed features differ from the server's for %v (-want +got):\n%s", typed, diff)
	}
	checkHighlights(t, ctx, features, want)
}

// checkHighlights checks that exactly the points at the listed locations are
// highlighted.
func checkHighlights(t *testing.T, ctx context.Context, features []*routeguide.Feature, list []listed) {
	t.Helper()
	at := make(map[location]bool)
	for _, l := range list {
		at[location{l.Latitude, l.Longitude}] = true
	}
	var want []location
	for _, l := range locationsOf(features) {
		if at[l] {
			want = append(want, l)
		}
	}
	if diff := cmp.Diff(sortLocations(want), sortLocations(plottedWith(t, ctx, "hit"))); diff != "" {
		t.Errorf("highlighted points (-want +got):\n%s", diff)
	}
}

func TestBadCoordinateShowsServerError(t *testing.T) {
	t.Parallel()
	ts, log := startServer(t, dataset.Default())
	c := newClient(t, ts)
	ctx := newTab(t, 1280, 900)
	openPage(t, ctx, ts.URL)

	checkServerErrors(t, ctx, c)

	// What cannot be sent at all is refused by the page, and says so.
	log.take()
	fillPoint(t, ctx, "ninety", "0")
	run(t, ctx, waitState("feature-result", "invalid"))
	if got := text(t, ctx, "#feature-result .message"); !strings.Contains(got, "not sent") {
		t.Errorf("page shows %q for a latitude that is not a number, want it to say it was not sent", got)
	}
	if calls := log.take(); len(calls) != 0 {
		t.Errorf("page made calls %v for a value it cannot send", calls)
	}
}

// checkServerErrors types a latitude of 95° into each form and checks that
// the page shows the code and message the server gives the Go client.
func checkServerErrors(t *testing.T, ctx context.Context, c *client.Client) {
	t.Helper()
	bad := &routeguide.Point{Latitude: 950000000, Longitude: 0}
	_, err := c.GetFeature(t.Context(), bad)
	wantCode, wantMessage := codeAndMessage(t, err)
	if wantCode != "invalid_argument" {
		t.Fatalf("GetFeature(%v) from Go: code %s, want invalid_argument", bad, wantCode)
	}
	fillPoint(t, ctx, "950000000", "0")
	run(t, ctx, waitState("feature-result", "error"))
	if got := text(t, ctx, "#feature-result .code"); got != wantCode {
		t.Errorf("GetFeature error code on the page = %q, want %q", got, wantCode)
	}
	if got := text(t, ctx, "#feature-result .message"); got != wantMessage {
		t.Errorf("GetFeature error message on the page = %q, want %q", got, wantMessage)
	}

	rect := &routeguide.Rectangle{Lo: bad, Hi: &routeguide.Point{}}
	var listErr error
	for _, err := range c.ListFeatures(t.Context(), rect) {
		listErr = err
	}
	wantCode, wantMessage = codeAndMessage(t, listErr)
	fillRectangle(t, ctx, rect)
	run(t, ctx, waitState("list-status", "error"))
	if got := text(t, ctx, "#list-status .code"); got != wantCode {
		t.Errorf("ListFeatures error code on the page = %q, want %q", got, wantCode)
	}
	if got := text(t, ctx, "#list-status .message"); got != wantMessage {
		t.Errorf("ListFeatures error message on the page = %q, want %q", got, wantMessage)
	}
}

func codeAndMessage(t *testing.T, err error) (string, string) {
	t.Helper()
	var connectErr *connect.Error
	if !errors.As(err, &connectErr) {
		t.Fatalf("want a connect error, got %v", err)
	}
	return connectErr.Code().String(), connectErr.Message()
}

func TestTransports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		transport string
		// What the server sees of each call.
		getFeature, listFeatures apiCall
	}{
		{
			transport:    "grpc-web",
			getFeature:   apiCall{Method: "POST", Procedure: "GetFeature", ContentType: "application/grpc-web+proto"},
			listFeatures: apiCall{Method: "POST", Procedure: "ListFeatures", ContentType: "application/grpc-web+proto"},
		},
		{
			transport:    "connect-json",
			getFeature:   apiCall{Method: "GET", Procedure: "GetFeature", Encoding: "json"},
			listFeatures: apiCall{Method: "POST", Procedure: "ListFeatures", ContentType: "application/connect+json"},
		},
		{
			transport:    "connect-binary",
			getFeature:   apiCall{Method: "GET", Procedure: "GetFeature", Encoding: "proto"},
			listFeatures: apiCall{Method: "POST", Procedure: "ListFeatures", ContentType: "application/connect+proto"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.transport, func(t *testing.T) {
			t.Parallel()
			features := dataset.Default()
			ts, log := startServer(t, features)
			c := newClient(t, ts)
			ctx := newTab(t, 1280, 900)
			openPage(t, ctx, ts.URL)
			// The page starts on gRPC-Web.
			if diff := cmp.Diff([]apiCall{tests[0].listFeatures}, log.take()); diff != "" {
				t.Errorf("calls on opening the page (-want +got):\n%s", diff)
			}

			// Switching transport fills the plot again over the new one. The
			// default is reached by switching away from it and back.
			switchTo := func(transport string) {
				run(t, ctx,
					markStale("count"),
					chromedp.Click(chromedp.CSS(`input[name=transport][value="`+transport+`"]`)),
					waitState("count", "done"),
				)
			}
			if tt.transport == tests[0].transport {
				switchTo(tests[1].transport)
				log.take()
			}
			switchTo(tt.transport)
			if got := len(plotted(t, ctx)); got != len(features) {
				t.Errorf("plot shows %d points, want %d", got, len(features))
			}

			point := features[0].GetLocation()
			fillPoint(t, ctx, itoa(point.GetLatitude()), itoa(point.GetLongitude()))
			run(t, ctx, waitState("feature-result", "done"))
			if got, want := text(t, ctx, "#feature-result .name"), features[0].GetName(); got != want {
				t.Errorf("GetFeature shows %q, want %q", got, want)
			}

			rect := &routeguide.Rectangle{
				Lo: &routeguide.Point{Latitude: -450000000, Longitude: 1100000000},
				Hi: &routeguide.Point{Latitude: 0, Longitude: 1800000000},
			}
			fillRectangle(t, ctx, rect)
			run(t, ctx, waitState("list-status", "done"))
			want := listFeatures(t, c, rect)
			if len(want) == 0 {
				t.Fatal("the rectangle holds no features; the test means to cover Oceania")
			}
			if diff := cmp.Diff(want, listedFeatures(t, ctx)); diff != "" {
				t.Errorf("listed features (-want +got):\n%s", diff)
			}

			checkServerErrors(t, ctx, c)

			wantCalls := []apiCall{tt.listFeatures, tt.getFeature, tt.listFeatures, tt.getFeature, tt.listFeatures}
			if diff := cmp.Diff(wantCalls, log.take()); diff != "" {
				t.Errorf("calls after switching to %s (-want +got):\n%s", tt.transport, diff)
			}
		})
	}
}

func TestScreenshot(t *testing.T) {
	t.Parallel()
	features := dataset.Default()
	ts, _ := startServer(t, features)
	// Notes from around the world, so that the map shows the live layer.
	notes := notesClient(t, ts)
	for _, n := range []struct {
		latitude, longitude int32
		message             string
	}{
		{488583700, 22944810, "Bonjour from RouteChat"},
		{488583700, 22944810, "The queue for the lift is shorter after dark"},
		{515007290, -1246250, "Cheers"},
		{407484400, -739856600, "Hello from grpcurl"},
		{-338567844, 1512152967, "G'day from the page"},
		{356585805, 1397454329, "Konnichiwa from Tokyo"},
		{-229068000, -431729000, "Olá"},
	} {
		postNote(t, notes, &routeguide.RouteNote{
			Location: &routeguide.Point{Latitude: n.latitude, Longitude: n.longitude},
			Message:  n.message,
		})
	}
	for _, size := range []struct {
		name          string
		width, height int64
	}{
		{"screenshot.png", 1200, 900},
		{"screenshot-phone.png", 390, 844},
	} {
		ctx := newTab(t, size.width, size.height)
		openPage(t, ctx, ts.URL)
		run(t, ctx, waitState("notes-status", "live"))
		if got := noteMarks(t, ctx); len(got) != 6 {
			t.Errorf("at %dpx the map has %d note marks, want 6: %v", size.width, len(got), got)
		}
		// A rectangle over Europe and the Eiffel Tower looked up, so that
		// the picture shows the page at work.
		from := toScreen(t, ctx, 600000000, -120000000)
		to := toScreen(t, ctx, 400000000, 200000000)
		run(t, ctx,
			markStale("list-status"), drag(from, to), waitState("list-status", "done"),
			chromedp.Click(chromedp.CSS(`#plot circle[data-latitude="488583700"][data-longitude="22944810"]`)),
			waitState("feature-result", "done"),
			// Leave the focus ring out of the picture.
			chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`),
		)
		if got := text(t, ctx, "#feature-result .name"); got != features[0].GetName() {
			t.Errorf("at %dpx the click shows %q, want %q", size.width, got, features[0].GetName())
		}
		if eval[bool](t, ctx, `document.documentElement.scrollWidth > document.documentElement.clientWidth`) {
			t.Errorf("at %dpx the page is wider than the screen", size.width)
		}
		saveScreenshot(t, ctx, size.name)
	}
}
