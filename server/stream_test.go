package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/internal/synthetic"
	"github.com/routeguide/routeguide/server"
)

// transports are the ways a client can reach the server: every protocol
// over HTTP/2, and those that allow it over HTTP/1.1, where net/http
// buffers and flushes differently.
var transports = []struct {
	name     string
	protocol client.Protocol
	http1    bool
}{
	{"grpc", client.ProtocolGRPC, false},
	{"grpcweb", client.ProtocolGRPCWeb, false},
	{"connect", client.ProtocolConnect, false},
	{"grpcweb-http1", client.ProtocolGRPCWeb, true},
	{"connect-http1", client.ProtocolConnect, true},
}

func newTransportClient(t testing.TB, url string, protocol client.Protocol, http1 bool) *client.Client {
	t.Helper()
	options := []client.Option{client.WithProtocol(protocol)}
	if http1 {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.Protocols = new(http.Protocols)
		transport.Protocols.SetHTTP1(true)
		options = append(options, client.WithHTTPClient(&http.Client{Transport: transport}))
		t.Cleanup(transport.CloseIdleConnections)
	}
	c, err := client.New(url, options...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestListFeaturesStreamsEveryMatchInOrder checks, over every transport,
// that coalesced flushes lose and reorder nothing: a client receives exactly
// the features a linear scan finds, in dataset order, for rectangles served
// by the tree and by the scan.
func TestListFeaturesStreamsEveryMatchInOrder(t *testing.T) {
	t.Parallel()
	const n = 2_000
	features := synthetic.Features(n, 42)
	srv := routeguidetest.NewRouteGuide(t, features)
	rectangles := []*routeguide.Rectangle{
		synthetic.Rectangle(n, 1),
		synthetic.Rectangle(n, 300),
		synthetic.Rectangle(n, n/4), // more than n/8: the scan path
		synthetic.Region,            // every feature: ~100 kB of messages
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			c := newTransportClient(t, srv.URL, tr.protocol, tr.http1)
			for _, r := range rectangles {
				want := scanWithin(features, r)
				var got []*routeguide.Feature
				for f, err := range c.ListFeatures(t.Context(), r) {
					if err != nil {
						t.Fatalf("ListFeatures(%v): %v", r, err)
					}
					got = append(got, f)
				}
				if len(got) != len(want) {
					t.Fatalf("ListFeatures(%v): got %d features, want %d", r, len(got), len(want))
				}
				for i := range got {
					if !proto.Equal(got[i], want[i]) {
						t.Fatalf("ListFeatures(%v): feature %d is %v, want %v", r, i, got[i], want[i])
					}
				}
			}
		})
	}
}

func scanWithin(features []*routeguide.Feature, r *routeguide.Rectangle) []*routeguide.Feature {
	minLat := min(r.GetLo().GetLatitude(), r.GetHi().GetLatitude())
	maxLat := max(r.GetLo().GetLatitude(), r.GetHi().GetLatitude())
	minLon := min(r.GetLo().GetLongitude(), r.GetHi().GetLongitude())
	maxLon := max(r.GetLo().GetLongitude(), r.GetHi().GetLongitude())
	var found []*routeguide.Feature
	for _, f := range features {
		lat, lon := f.GetLocation().GetLatitude(), f.GetLocation().GetLongitude()
		if lat >= minLat && lat <= maxLat && lon >= minLon && lon <= maxLon {
			found = append(found, f)
		}
	}
	return found
}

// TestRouteChatRepliesInOrder checks that RouteChat replies, coalesced,
// arrive complete and in order, both when the client sends every note
// before reading and when it waits for each note's replies (which only
// arrive in time if flushes put off are made before the server reads).
func TestRouteChatRepliesInOrder(t *testing.T) {
	t.Parallel()
	for _, tr := range transports[:3] { // bidirectional streams need HTTP/2
		for _, lockstep := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/lockstep=%t", tr.name, lockstep), func(t *testing.T) {
				t.Parallel()
				// One client sends more notes than a write budget allows at once.
				srv := routeguidetest.NewRouteGuide(t, nil, server.WithWriteBudget(nil))
				c := newTransportClient(t, srv.URL, tr.protocol, false)
				const notes, locations = 100, 7
				var want []string
				sent := make(map[int][]string)
				for i := range notes {
					loc := i % locations
					sent[loc] = append(sent[loc], fmt.Sprint("note ", i))
					want = append(want, sent[loc]...)
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				chat := c.RouteChat(ctx)
				var got []string
				receive := func(count int) {
					for range count {
						reply, err := chat.Receive()
						if err != nil {
							t.Fatalf("Receive after %d replies: %v", len(got), err)
						}
						got = append(got, reply.GetMessage())
					}
				}
				seen := make(map[int]int)
				for i := range notes {
					loc := i % locations
					note := &routeguide.RouteNote{
						Location: &routeguide.Point{Latitude: int32(loc), Longitude: int32(loc)},
						Message:  fmt.Sprint("note ", i),
					}
					if err := chat.Send(note); err != nil {
						t.Fatalf("Send: %v", err)
					}
					seen[loc]++
					if lockstep {
						receive(seen[loc])
					}
				}
				if err := chat.CloseSend(); err != nil {
					t.Fatal(err)
				}
				if !lockstep {
					receive(len(want))
				}
				if _, err := chat.Receive(); !errors.Is(err, io.EOF) {
					t.Fatalf("after the last reply, Receive: %v, want io.EOF", err)
				}
				if len(got) != len(want) {
					t.Fatalf("got %d replies, want %d", len(got), len(want))
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("reply %d: got %q, want %q", i, got[i], want[i])
					}
				}
			})
		}
	}
}
