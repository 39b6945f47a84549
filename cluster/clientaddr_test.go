package cluster_test

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"testing"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/routeguide/routeguide/cluster"
	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/server/budget"
)

// TestClientAddressThroughHAProxy posts anonymous notes through HAProxy
// from 127.0.0.2, which Linux routes on loopback: the replica must charge
// them to 127.0.0.2, which it learns from HAProxy's PROXY protocol v2
// header, and not to HAProxy's 127.0.0.1. A client on 127.0.0.1, an
// address the replicas trust as HAProxy's, sends X-Forwarded-For naming
// another: HAProxy must drop it, or the replica would charge that one. The
// budgets are read where every replica keeps them, in NATS.
func TestClientAddressThroughHAProxy(t *testing.T) {
	t.Parallel()
	// Linux has all of 127.0.0.0/8 on lo; macOS, for one, only 127.0.0.1.
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("skipping: no address 127.0.0.2 to call from: %v", err)
	}
	l.Close()
	client := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	bins := binaries(t)
	bins.IDP = "" // anonymous writes, which budgets count by address
	c := startCluster(t, cluster.Config{Binaries: bins, Replicas: 1})

	post := func(from string, dialer *net.Dialer, header map[string]string) {
		t.Helper()
		transport := &http.Transport{DialContext: dialer.DialContext, Protocols: new(http.Protocols)}
		transport.Protocols.SetUnencryptedHTTP2(true)
		defer transport.CloseIdleConnections() // or HAProxy waits for it to stop
		notes := notesv1connect.NewNotesServiceClient(connect.NewClient(
			connecthttp.NewTransport(&http.Client{Transport: transport}, "http://"+c.Addr(), connecthttp.WithGRPC())))
		ctx, info := connect.NewClientContext(t.Context())
		for k, v := range header {
			info.RequestHeader().Set(k, v)
		}
		note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: 1, Longitude: 2}, Message: "from " + from}
		if _, err := notes.PostNote(ctx, &notesv1.PostNoteRequest{Note: note}); err != nil {
			t.Fatalf("PostNote from %s through HAProxy: %v", from, err)
		}
	}
	// A budget is charged before the note is stored: once the call has
	// returned, its key is in the bucket.
	post("127.0.0.2", client, nil)
	post("127.0.0.2", client, map[string]string{"X-Forwarded-For": "198.51.100.7"})
	post("127.0.0.1", &net.Dialer{}, map[string]string{"X-Forwarded-For": "198.51.100.7"})

	nc, err := nats.Connect("nats://" + c.NATS()[0].Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), "routeguide_budgets")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, addr := range []string{"127.0.0.1", "127.0.0.2"} {
		want = append(want, budget.AddrKey(netip.MustParseAddr(addr)).String())
	}
	if diff := cmp.Diff(want, slices.Sorted(slices.Values(keys))); diff != "" {
		t.Errorf("write budgets charged (-want +got), where 4.7f000001 is 127.0.0.1, 4.7f000002 127.0.0.2 and 4.c6336407 the forged 198.51.100.7:\n%s", diff)
	}
}
