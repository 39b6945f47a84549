package client_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect/v2"
	"go.uber.org/goleak"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var features = []*routeguide.Feature{
	{Name: "Alpha", Location: pt(10, 10)},
	{Name: "Bravo", Location: pt(20, 20)},
	{Name: "Charlie", Location: pt(30, 30)},
}

func pt(lat, lon int32) *routeguide.Point {
	return &routeguide.Point{Latitude: lat, Longitude: lon}
}

type transport struct {
	name   string
	client func() *http.Client
}

var transports = []transport{
	{"h2c", nil}, // the client's own default
	{"HTTP/1.1", routeguidetest.HTTP1Client},
}

var protocols = []client.Protocol{client.ProtocolConnect, client.ProtocolGRPC, client.ProtocolGRPCWeb}

// TestMatrix calls every method over every protocol, codec and HTTP version.
func TestMatrix(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, features)
	for _, tr := range transports {
		for _, protocol := range protocols {
			for _, json := range []bool{false, true} {
				name := fmt.Sprintf("%s/%v/json=%v", tr.name, protocol, json)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					options := []client.Option{client.WithProtocol(protocol)}
					if json {
						options = append(options, client.WithJSON())
					}
					if tr.client != nil {
						options = append(options, client.WithHTTPClient(tr.client()))
					}
					c, err := client.New(ts.URL, options...)
					if err != nil {
						t.Fatal(err)
					}
					checkGetFeature(t, c)
					checkListFeatures(t, c)
					checkRecordRoute(t, c)
					if tr.name == "HTTP/1.1" {
						checkRouteChatNeedsHTTP2(t, c)
					} else {
						checkRouteChat(t, c)
					}
				})
			}
		}
	}
}

func checkGetFeature(t *testing.T, c *client.Client) {
	t.Helper()
	f, err := c.GetFeature(t.Context(), pt(20, 20))
	if err != nil {
		t.Fatalf("GetFeature: %v", err)
	}
	if f.GetName() != "Bravo" {
		t.Errorf("GetFeature(20, 20) = %q, want Bravo", f.GetName())
	}
	_, err = c.GetFeature(t.Context(), pt(950_000_000, 0))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "latitude") {
		t.Errorf("GetFeature with latitude 95° = %v, want invalid_argument naming the latitude", err)
	}
}

func checkListFeatures(t *testing.T, c *client.Client) {
	t.Helper()
	var got []string
	for f, err := range c.ListFeatures(t.Context(), &routeguide.Rectangle{Lo: pt(30, 30), Hi: pt(15, 15)}) {
		if err != nil {
			t.Fatalf("ListFeatures: %v", err)
		}
		got = append(got, f.GetName())
	}
	if want := []string{"Bravo", "Charlie"}; !slices.Equal(got, want) {
		t.Errorf("ListFeatures = %q, want %q", got, want)
	}
	var lastErr error
	for _, err := range c.ListFeatures(t.Context(), &routeguide.Rectangle{Lo: pt(0, 0)}) {
		lastErr = err
	}
	if connect.CodeOf(lastErr) != connect.CodeInvalidArgument {
		t.Errorf("ListFeatures without hi = %v, want invalid_argument", lastErr)
	}
}

func checkRecordRoute(t *testing.T, c *client.Client) {
	t.Helper()
	route := []*routeguide.Point{pt(10, 10), pt(0, 0), pt(0, 10_000_000), pt(30, 30)}
	summary, err := c.RecordRoute(t.Context(), slices.Values(route))
	if err != nil {
		t.Fatalf("RecordRoute: %v", err)
	}
	// The legs of a few E7 units are truncated to 0 m; the degree is 111,194 m.
	if summary.GetPointCount() != 4 || summary.GetFeatureCount() != 2 || summary.GetDistance() != 2*111_194 {
		t.Errorf("RecordRoute = %v, want 4 points, 2 features, 222388 m", summary)
	}
	_, err = c.RecordRoute(t.Context(), slices.Values([]*routeguide.Point{pt(0, 0), pt(0, 1_900_000_000)}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "point 2") {
		t.Errorf("RecordRoute with a bad second point = %v, want invalid_argument naming point 2", err)
	}
}

func checkRouteChat(t *testing.T, c *client.Client) {
	t.Helper()
	// Each subtest has its own location, since the store is shared.
	loc := pt(int32(hash(t.Name())%900_000_000), 0)
	chat := c.RouteChat(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, msg := range []string{"one", "two", "three"} {
			if err := chat.Send(&routeguide.RouteNote{Location: loc, Message: msg}); err != nil {
				t.Errorf("Send: %v", err)
				return
			}
		}
		if err := chat.CloseSend(); err != nil {
			t.Errorf("CloseSend: %v", err)
		}
	})
	var got []string
	for note, err := range chat.Replies() {
		if err != nil {
			t.Fatalf("RouteChat: %v", err)
		}
		got = append(got, note.GetMessage())
	}
	wg.Wait()
	if want := []string{"one", "one", "two", "one", "two", "three"}; !slices.Equal(got, want) {
		t.Errorf("RouteChat replies = %q, want %q", got, want)
	}
}

// checkRouteChatNeedsHTTP2 asserts the error a client gets when it calls
// RouteChat over HTTP/1.1, which cannot carry a bidirectional stream.
func checkRouteChatNeedsHTTP2(t *testing.T, c *client.Client) {
	t.Helper()
	chat := c.RouteChat(t.Context())
	_ = chat.Send(&routeguide.RouteNote{Location: pt(1, 1), Message: "hello"})
	_ = chat.CloseSend()
	_, err := chat.Receive()
	if connect.CodeOf(err) != connect.CodeUnimplemented || !strings.Contains(err.Error(), "HTTP/2") {
		t.Fatalf("RouteChat over HTTP/1.1 = %v, want unimplemented saying it needs HTTP/2", err)
	}
}

func hash(s string) uint32 {
	var h uint32 = 2166136261
	for i := range len(s) {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

func TestHTTPGet(t *testing.T) {
	t.Parallel()
	srv, err := server.New(features)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var methods, caching []string
	ts := routeguidetest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(w, r)
		mu.Lock()
		methods = append(methods, r.Method)
		caching = append(caching, w.Header().Get("Cache-Control"))
		mu.Unlock()
	}))
	for _, options := range [][]client.Option{
		{client.WithHTTPGet()},
		{client.WithHTTPGet(), client.WithJSON()},
		{},
	} {
		c, err := client.New(ts.URL, options...)
		if err != nil {
			t.Fatal(err)
		}
		f, err := c.GetFeature(t.Context(), pt(10, 10))
		if err != nil || f.GetName() != "Alpha" {
			t.Fatalf("GetFeature = %v, %v; want Alpha", f, err)
		}
	}
	if want := []string{"GET", "GET", "POST"}; !slices.Equal(methods, want) {
		t.Errorf("HTTP methods = %q, want %q", methods, want)
	}
	// Only answers to a GET are kept by caches.
	if want := []string{"public, max-age=300", "public, max-age=300", ""}; !slices.Equal(caching, want) {
		t.Errorf("GetFeature's Cache-Control = %q, want %q", caching, want)
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"", "localhost:50051", "ftp://example.com", "http://", "://x"} {
		if _, err := client.New(url); err == nil {
			t.Errorf("New(%q) succeeded, want an error", url)
		}
	}
}

func TestParseProtocol(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		got, err := client.ParseProtocol(p.String())
		if err != nil || got != p {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v", p.String(), got, err, p)
		}
	}
	if _, err := client.ParseProtocol("grpc-web"); err == nil {
		t.Error("ParseProtocol(grpc-web) succeeded, want an error listing the names")
	}
}

func TestListFeaturesStopEarly(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, dataset.Default())
	c, err := client.New(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	world := &routeguide.Rectangle{Lo: pt(-900_000_000, -1_800_000_000), Hi: pt(900_000_000, 1_800_000_000)}
	n := 0
	for _, err := range c.ListFeatures(t.Context(), world) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break // goleak checks that the stream's goroutines end
		}
	}
}
