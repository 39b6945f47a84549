package server_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
)

// testFeatures is a small dataset whose edges the tests know: a duplicate
// location, an unnamed feature and the corners of the valid range.
var testFeatures = []*routeguide.Feature{
	{Name: "Alpha", Location: pt(10, 10)},
	{Name: "", Location: pt(20, 20)},
	{Name: "Bravo", Location: pt(30, 30)},
	{Name: "Alpha again", Location: pt(10, 10)},
	{Name: "North-east corner", Location: pt(900_000_000, 1_800_000_000)},
	{Name: "South-west corner", Location: pt(-900_000_000, -1_800_000_000)},
}

func pt(lat, lon int32) *routeguide.Point {
	return &routeguide.Point{Latitude: lat, Longitude: lon}
}

func rect(lo, hi *routeguide.Point) *routeguide.Rectangle {
	return &routeguide.Rectangle{Lo: lo, Hi: hi}
}

// newClient starts a server over features and returns a client of it.
func newClient(t *testing.T, features []*routeguide.Feature, options ...client.Option) *client.Client {
	t.Helper()
	ts := routeguidetest.NewRouteGuide(t, features)
	c, err := client.New(ts.URL, options...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCode(t *testing.T, err error, want connect.Code, wantInMessage string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", want)
	}
	if got := connect.CodeOf(err); got != want {
		t.Fatalf("error %v has code %v, want %v", err, got, want)
	}
	if !strings.Contains(err.Error(), wantInMessage) {
		t.Errorf("error %q does not mention %q", err, wantInMessage)
	}
}

func TestGetFeature(t *testing.T) {
	t.Parallel()
	c := newClient(t, testFeatures)
	ctx := t.Context()
	tests := []struct {
		point *routeguide.Point
		want  *routeguide.Feature
	}{
		{pt(30, 30), testFeatures[2]},
		{pt(10, 10), testFeatures[0]}, // the first of two at the same point
		{pt(20, 20), testFeatures[1]}, // an unnamed feature
		{pt(900_000_000, 1_800_000_000), testFeatures[4]},
		{pt(11, 10), &routeguide.Feature{Location: pt(11, 10)}}, // nothing there: echo the point
		{pt(0, 0), &routeguide.Feature{Location: pt(0, 0)}},
	}
	for _, tt := range tests {
		got, err := c.GetFeature(ctx, tt.point)
		if err != nil {
			t.Fatalf("GetFeature(%v): %v", tt.point, err)
		}
		if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
			t.Errorf("GetFeature(%v) mismatch (-want +got):\n%s", tt.point, diff)
		}
	}
}

func TestGetFeatureInvalid(t *testing.T) {
	t.Parallel()
	c := newClient(t, testFeatures)
	_, err := c.GetFeature(t.Context(), pt(950_000_000, 0))
	wantCode(t, err, connect.CodeInvalidArgument, "latitude 950000000 is out of range")
	_, err = c.GetFeature(t.Context(), pt(0, -1_800_000_001))
	wantCode(t, err, connect.CodeInvalidArgument, "longitude -1800000001 is out of range")
}

func listNames(t *testing.T, c *client.Client, r *routeguide.Rectangle) ([]string, error) {
	t.Helper()
	var names []string
	for f, err := range c.ListFeatures(t.Context(), r) {
		if err != nil {
			return names, err
		}
		names = append(names, f.GetName())
	}
	return names, nil
}

func TestListFeatures(t *testing.T) {
	t.Parallel()
	c := newClient(t, testFeatures)
	tests := []struct {
		name string
		rect *routeguide.Rectangle
		want []string
	}{
		{"whole world in dataset order", rect(pt(-900_000_000, -1_800_000_000), pt(900_000_000, 1_800_000_000)),
			[]string{"Alpha", "", "Bravo", "Alpha again", "North-east corner", "South-west corner"}},
		{"edges included", rect(pt(10, 10), pt(30, 30)), []string{"Alpha", "", "Bravo", "Alpha again"}},
		{"corners in the other order", rect(pt(30, 30), pt(10, 10)), []string{"Alpha", "", "Bravo", "Alpha again"}},
		{"other diagonal", rect(pt(10, 30), pt(30, 10)), []string{"Alpha", "", "Bravo", "Alpha again"}},
		{"a single point", rect(pt(20, 20), pt(20, 20)), []string{""}},
		{"just outside", rect(pt(11, 11), pt(19, 19)), nil},
	}
	for _, tt := range tests {
		got, err := listNames(t, c, tt.rect)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: ListFeatures = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestListFeaturesInvalid(t *testing.T) {
	t.Parallel()
	c := newClient(t, testFeatures)
	tests := []struct {
		rect *routeguide.Rectangle
		want string
	}{
		{&routeguide.Rectangle{Lo: pt(0, 0)}, "hi is required"}, // kills the reference server
		{&routeguide.Rectangle{Hi: pt(0, 0)}, "lo is required"},
		{&routeguide.Rectangle{}, "lo is required"},
		{rect(pt(0, 0), pt(0, 1_800_000_001)), "hi.longitude 1800000001 is out of range"},
	}
	for _, tt := range tests {
		_, err := listNames(t, c, tt.rect)
		wantCode(t, err, connect.CodeInvalidArgument, tt.want)
	}
	// The server is still there for everyone else.
	if _, err := c.GetFeature(t.Context(), pt(10, 10)); err != nil {
		t.Fatalf("GetFeature after bad rectangles: %v", err)
	}
}

func TestRecordRoute(t *testing.T) {
	t.Parallel()
	c := newClient(t, testFeatures)
	tests := []struct {
		name  string
		route []*routeguide.Point
		want  *routeguide.RouteSummary
	}{
		{"empty", nil, &routeguide.RouteSummary{}},
		{"one point", []*routeguide.Point{pt(10, 10)}, &routeguide.RouteSummary{PointCount: 1, FeatureCount: 1}},
		{
			// An unnamed feature counts; a point visited twice counts twice.
			// Legs of a few E7 units are centimetres, truncated to 0 m.
			"known and unknown points",
			[]*routeguide.Point{pt(10, 10), pt(20, 20), pt(0, 0), pt(10, 10)},
			&routeguide.RouteSummary{PointCount: 4, FeatureCount: 3, Distance: 0},
		},
		{
			// One degree along the equator and back: 111,194 m each way.
			"there and back",
			[]*routeguide.Point{pt(0, 0), pt(0, 10_000_000), pt(0, 0)},
			&routeguide.RouteSummary{PointCount: 3, Distance: 2 * 111_194},
		},
	}
	for _, tt := range tests {
		got, err := c.RecordRoute(t.Context(), slices.Values(tt.route))
		if err != nil {
			t.Fatalf("%s: RecordRoute: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
			t.Errorf("%s: RecordRoute mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestRecordRouteInvalidPoint(t *testing.T) {
	t.Parallel()
	c := newClient(t, testFeatures)
	route := []*routeguide.Point{pt(0, 0), pt(1, 1), pt(-950_000_000, 0), pt(2, 2)}
	_, err := c.RecordRoute(t.Context(), slices.Values(route))
	wantCode(t, err, connect.CodeInvalidArgument, "point 3: latitude -950000000 is out of range")
}

func chat(t *testing.T, c *client.Client, notes []*routeguide.RouteNote) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream := c.RouteChat(ctx)
	var replies []string
	// Send one note at a time and read its replies before the next, so the
	// replies to each note are known.
	for _, note := range notes {
		if err := stream.Send(note); err != nil {
			break
		}
		reply, err := stream.Receive()
		if err != nil {
			return replies, err
		}
		replies = append(replies, reply.GetMessage())
		for reply.GetMessage() != note.GetMessage() {
			if reply, err = stream.Receive(); err != nil {
				return replies, err
			}
			replies = append(replies, reply.GetMessage())
		}
	}
	if err := stream.CloseSend(); err != nil {
		return replies, err
	}
	for reply, err := range stream.Replies() {
		if err != nil {
			return replies, err
		}
		replies = append(replies, reply.GetMessage())
	}
	return replies, nil
}

func TestRouteChat(t *testing.T) {
	t.Parallel()
	c := newClient(t, testFeatures)
	got, err := chat(t, c, tutorialNotes())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"First message", "Second message", "Third message",
		"First message", "Fourth message",
		"Second message", "Fifth message",
		"Third message", "Sixth message",
	}
	if !slices.Equal(got, want) {
		t.Errorf("replies = %q, want %q", got, want)
	}
}

func TestRouteChatStoreIsShared(t *testing.T) {
	t.Parallel()
	c := newClient(t, testFeatures)
	if _, err := chat(t, c, []*routeguide.RouteNote{{Location: pt(5, 5), Message: "from the first client"}}); err != nil {
		t.Fatal(err)
	}
	got, err := chat(t, c, []*routeguide.RouteNote{{Location: pt(5, 5), Message: "from the second client"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"from the first client", "from the second client"}
	if !slices.Equal(got, want) {
		t.Errorf("second client's replies = %q, want %q", got, want)
	}
}

func TestRouteChatConcurrentOrder(t *testing.T) {
	t.Parallel()
	// One client sends more notes than a write budget allows at once.
	ts := routeguidetest.NewRouteGuide(t, testFeatures, server.WithWriteBudget(nil))
	c := routeguidetest.Must(client.New(ts.URL))
	const clients, notesEach = 6, 10
	replies := make([][]string, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			notes := make([]*routeguide.RouteNote, notesEach)
			for j := range notes {
				notes[j] = &routeguide.RouteNote{Location: pt(7, 7), Message: string(rune('A'+i)) + strings.Repeat("x", j)}
			}
			var err error
			if replies[i], err = chat(t, c, notes); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Every reply to a note is a prefix of the store's final order at that
	// location: nothing lost, duplicated or reordered.
	final, err := chat(t, c, []*routeguide.RouteNote{{Location: pt(7, 7), Message: "last"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(final) != clients*notesEach+1 {
		t.Fatalf("store holds %d notes at the location, want %d", len(final), clients*notesEach+1)
	}
	for i, got := range replies {
		// Split the client's replies into one batch per note it sent.
		for batch := range splitBatches(got, string(rune('A'+i))) {
			if !slices.Equal(batch, final[:len(batch)]) {
				t.Fatalf("client %d got a batch that is not a prefix of the store's order:\n%q", i, batch)
			}
		}
	}
}

// splitBatches yields the reply batches of one client's chat: each batch
// ends with the client's own note, whose text starts with prefix and grows
// by one x per note.
func splitBatches(replies []string, prefix string) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		start, own := 0, prefix
		for i, r := range replies {
			if r == own {
				if !yield(replies[start : i+1]) {
					return
				}
				start, own = i+1, own+"x"
			}
		}
	}
}

func TestRouteChatInvalidNote(t *testing.T) {
	t.Parallel()
	c := newClient(t, testFeatures)
	_, err := chat(t, c, []*routeguide.RouteNote{{Message: "nowhere"}})
	wantCode(t, err, connect.CodeInvalidArgument, "location is required")
	_, err = chat(t, c, []*routeguide.RouteNote{{Location: pt(0, 1_900_000_000), Message: "off the map"}})
	wantCode(t, err, connect.CodeInvalidArgument, "location.longitude 1900000000 is out of range")
}

func TestOversizedMessage(t *testing.T) {
	t.Parallel()
	c := newClient(t, testFeatures)
	huge := strings.Repeat("x", 5<<20)
	_, err := chat(t, c, []*routeguide.RouteNote{{Location: pt(1, 1), Message: huge}})
	if got := connect.CodeOf(err); got != connect.CodeResourceExhausted {
		t.Fatalf("a 5 MiB note gave %v, want resource_exhausted", err)
	}
	if _, err := c.GetFeature(t.Context(), pt(10, 10)); err != nil {
		t.Fatalf("GetFeature after an oversized message: %v", err)
	}
}

func TestNewRejectsInvalidFeatures(t *testing.T) {
	t.Parallel()
	_, err := server.New([]*routeguide.Feature{{Name: "nowhere"}})
	if err == nil || !strings.Contains(err.Error(), `feature 0 ("nowhere"): location is required`) {
		t.Errorf("New with a feature without location = %v, want an error naming it", err)
	}
}

// TestGetFeatureCacheControl checks that an answer fetched with a Connect
// GET may be cached, and that other answers do not say so.
func TestGetFeatureCacheControl(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, nil)
	for name, options := range map[string][]connecthttp.Option{
		"connect get":  {connecthttp.WithHTTPGet()},
		"connect post": nil,
		"grpc":         {connecthttp.WithGRPC()},
		"grpc-web":     {connecthttp.WithGRPCWeb()},
	} {
		ctx, info := connect.NewClientContext(t.Context())
		if _, err := newRawClient(ts.URL, options...).GetFeature(ctx, pt(1, 1)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, want := info.ResponseHeader().Get("Cache-Control"), ""
		if name == "connect get" {
			want = "public, max-age=300"
		}
		if got != want {
			t.Errorf("%s: Cache-Control %q, want %q", name, got, want)
		}
	}
}
