package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect/v2"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
)

// grpcWebPage runs the script built from ../grpcweb/main.ts, which calls the
// API named by its ?api= parameter with Google's grpc-web client.
const grpcWebPage = `<!doctype html>
<meta charset="utf-8">
<title>grpc-web client</title>
<pre id="out"></pre>
<script type="module" src="/grpcweb.js"></script>
`

// newGRPCWebPage serves grpcWebPage and its script from an origin of its
// own on loopback.
func newGRPCWebPage(t *testing.T) *httptest.Server {
	t.Helper()
	script, err := os.ReadFile("testdata/grpcweb.js")
	if err != nil {
		t.Fatalf("%v: build it with `npm ci && npm run build` in web/", err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/grpcweb.js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Write(script)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(grpcWebPage))
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

// grpcWebFound is a feature as the page reports it.
type grpcWebFound struct {
	Name                string
	Latitude, Longitude int32
	Code                *int // set if the call failed
	Message             string
}

// grpcWebRun is what the page got in one of grpc-web's modes.
type grpcWebRun struct {
	Feature     grpcWebFound
	BadLatitude grpcWebFound
	List        struct {
		Features []grpcWebFound
		Error    *struct {
			Code    int
			Message string
		}
	}
	Watch *struct {
		Status *int
		Error  *struct {
			Code    int
			Message string
		}
	}
}

func TestGRPCWebClient(t *testing.T) {
	t.Parallel()
	page := newGRPCWebPage(t)
	api, log := startServer(t, dataset.Default(), server.WithCORSOrigins(page.URL))

	// What the Go client gets, which the page must get too.
	c := newClient(t, api)
	eiffel, err := c.GetFeature(t.Context(), &routeguide.Point{Latitude: 488583700, Longitude: 22944810})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetFeature(t.Context(), &routeguide.Point{Latitude: 950000000})
	_, wantMessage := codeAndMessage(t, err)
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("bad latitude: %v, want invalid_argument", err)
	}
	var wantList []grpcWebFound
	for _, l := range listFeatures(t, c, &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: 400000000, Longitude: -750000000},
		Hi: &routeguide.Point{Latitude: 600000000, Longitude: 250000000},
	}) {
		name := l.Name
		if name == pageName(&routeguide.Feature{}) {
			name = ""
		}
		wantList = append(wantList, grpcWebFound{Name: name, Latitude: l.Latitude, Longitude: l.Longitude})
	}
	if len(wantList) < 2 {
		t.Fatalf("the rectangle holds %d features; want a stream of several", len(wantList))
	}

	ctx := newTab(t, 800, 600)
	watchConsole(t, ctx)
	run(t, ctx,
		chromedp.Navigate(page.URL+"/?api="+url.QueryEscape(api.URL)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="done"]`)),
	)
	out := text(t, ctx, "#out")
	var got map[string]grpcWebRun
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("page wrote %q: %v", out, err)
	}

	for _, format := range []string{"text", "binary"} {
		res := got[format]
		want := grpcWebFound{Name: eiffel.GetName(), Latitude: eiffel.GetLocation().GetLatitude(), Longitude: eiffel.GetLocation().GetLongitude()}
		if diff := cmp.Diff(want, res.Feature); diff != "" {
			t.Errorf("%s mode: GetFeature (-want +got):\n%s", format, diff)
		}
		invalidArgument := int(connect.CodeInvalidArgument)
		if diff := cmp.Diff(grpcWebFound{Code: &invalidArgument, Message: wantMessage}, res.BadLatitude); diff != "" {
			t.Errorf("%s mode: GetFeature of a bad latitude (-want +got):\n%s", format, diff)
		}
		if res.List.Error != nil {
			t.Errorf("%s mode: ListFeatures failed: %+v", format, *res.List.Error)
		}
		if diff := cmp.Diff(wantList, res.List.Features); diff != "" {
			t.Errorf("%s mode: ListFeatures (-want +got):\n%s", format, diff)
		}
	}
	// In text mode grpc-web reads a response as it arrives: the first
	// message of a stream the server holds open gets through.
	if w := got["text"].Watch; w == nil || w.Status == nil || *w.Status != 1 {
		t.Errorf("text mode: health Watch %s, want status 1 (SERVING) while the stream is open", out)
	}

	// Each mode spoke its own content type to the server: all six calls
	// of each went over the wire as grpc-web says.
	var seen []apiCall
	for _, call := range log.take() {
		seen = append(seen, apiCall{Method: call.Method, Procedure: call.Procedure, ContentType: call.ContentType})
	}
	count := func(contentType string) int {
		return len(slices.DeleteFunc(slices.Clone(seen), func(c apiCall) bool { return c.ContentType != contentType }))
	}
	if got, want := count("application/grpc-web-text"), 3; got != want {
		t.Errorf("RouteGuide calls in application/grpc-web-text: %d, want %d (text mode); all: %+v", got, want, seen)
	}
	if got, want := count("application/grpc-web+proto"), 3; got != want {
		t.Errorf("RouteGuide calls in application/grpc-web+proto: %d, want %d (binary mode); all: %+v", got, want, seen)
	}
	if strings.Contains(out, `"code":-1`) {
		t.Errorf("the page failed outside grpc-web: %s", out)
	}
}
