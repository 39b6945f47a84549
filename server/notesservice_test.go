package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/limits"
	"github.com/routeguide/routeguide/server/notes"
)

// The tests here that run NATS are not parallel: its servers would take
// the cores from the tests that time the transport's guards.

// replica is one routeguide server of several sharing a notes store.
type replica struct {
	ts    *httptest.Server
	store notes.Store
	chat  *client.Client
	notes notesv1connect.NotesServiceClient
}

// openJetStream opens a notes store on NATS at urls, closed when the test
// ends.
func openJetStream(t *testing.T, urls string, replicas int) *notes.JetStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	store, err := notes.OpenJetStream(ctx, notes.JetStreamConfig{URLs: urls, Replicas: replicas, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// newReplica serves RouteGuide and NotesService over store.
func newReplica(t testing.TB, store notes.Store, options ...server.Option) *replica {
	t.Helper()
	ts := routeguidetest.NewRouteGuide(t, testFeatures, append(options, server.WithNotesStore(store))...)
	c, err := client.New(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &replica{
		ts:    ts,
		store: store,
		chat:  c,
		notes: notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(routeguidetest.H2CClient(), ts.URL, connecthttp.WithGRPC()))),
	}
}

// chatOnce sends one note over RouteChat and returns the replies.
func chatOnce(ctx context.Context, c *client.Client, n *routeguide.RouteNote) ([]string, error) {
	chat := c.RouteChat(ctx)
	if err := chat.Send(n); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if err := chat.CloseSend(); err != nil {
		return nil, err
	}
	var got []string
	for reply, err := range chat.Replies() {
		if err != nil {
			return got, err
		}
		got = append(got, reply.GetMessage())
	}
	return got, nil
}

func post(ctx context.Context, r *replica, n *routeguide.RouteNote) ([]string, error) {
	res, err := r.notes.PostNote(ctx, &notesv1.PostNoteRequest{Note: n})
	if err != nil {
		return nil, err
	}
	var got []string
	for _, n := range res.GetNotes() {
		got = append(got, n.GetMessage())
	}
	return got, nil
}

func note(lat, lng int32, msg string) *routeguide.RouteNote {
	return &routeguide.RouteNote{Location: pt(lat, lng), Message: msg}
}

// receiveWithin returns the next note of a watch, failing after d.
func receiveWithin(t *testing.T, stream notesv1connect.NotesServiceWatchNotesClientStream, d time.Duration) *notesv1.WatchNotesResponse {
	t.Helper()
	type received struct {
		res *notesv1.WatchNotesResponse
		err error
	}
	got := make(chan received, 1)
	go func() {
		res, err := stream.Receive()
		got <- received{res, err}
	}()
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatalf("watch ended: %v", r.err)
		}
		return r.res
	case <-time.After(d):
		t.Fatalf("no note within %v", d)
		return nil
	}
}

// TestNotesAcrossReplicas runs three servers on one JetStream: a note sent
// with RouteChat on one is in the reply to a chat on another, and a watcher
// on one sees a note posted on another within a second.
func TestNotesAcrossReplicas(t *testing.T) {
	nats := natstest.Start(t)
	a := newReplica(t, openJetStream(t, nats.URL(), 1))
	b := newReplica(t, openJetStream(t, nats.URL(), 1))
	c := newReplica(t, openJetStream(t, nats.URL(), 1))
	ctx := t.Context()

	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watch, err := b.notes.WatchNotes(watchCtx, &notesv1.WatchNotesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()

	if got, err := chatOnce(ctx, a.chat, note(1, 1, "on a")); err != nil || !slices.Equal(got, []string{"on a"}) {
		t.Fatalf("chat on a: %q, %v", got, err)
	}
	if got, err := chatOnce(ctx, b.chat, note(1, 1, "on b")); err != nil || !slices.Equal(got, []string{"on a", "on b"}) {
		t.Fatalf("chat on b: %q, %v, want the note from a first", got, err)
	}
	posted := time.Now()
	if got, err := post(ctx, c, note(1, 1, "on c")); err != nil || !slices.Equal(got, []string{"on a", "on b", "on c"}) {
		t.Fatalf("PostNote on c: %q, %v", got, err)
	}
	var last uint64
	for _, want := range []string{"on a", "on b", "on c"} {
		res := receiveWithin(t, watch, time.Second)
		if res.GetNote().GetMessage() != want || res.GetSequence() <= last {
			t.Errorf("watcher on b got %q at sequence %d after %d, want %q", res.GetNote().GetMessage(), res.GetSequence(), last, want)
		}
		last = res.GetSequence()
		if want == "on c" {
			if at := res.GetPostedTime().AsTime(); at.Before(posted.Add(-time.Second)) || at.After(time.Now()) {
				t.Errorf("posted_time %v, want about %v", at, posted)
			}
		}
	}
}

// TestNotesR3ClusterLosesNoAcknowledgedNote chats on three replicas, each
// with its own connection to a three-node JetStream cluster keeping three
// copies, and kills the node leading the stream mid-chat: every note a
// chat got its reply to is in the last reply, once, in the order it was
// sent. A note whose call failed may or may not be there.
func TestNotesR3ClusterLosesNoAcknowledgedNote(t *testing.T) {
	cluster := natstest.StartCluster(t, 3)
	var replicas []*replica
	for range 3 {
		replicas = append(replicas, newReplica(t, openJetStream(t, cluster.URLs(), 3)))
	}
	const perChat = 20
	acked := make([][]string, len(replicas))
	failed := make([]map[string]bool, len(replicas))
	var wg sync.WaitGroup
	var killOnce sync.Once
	for i, r := range replicas {
		failed[i] = map[string]bool{}
		wg.Go(func() {
			chat := r.chat.RouteChat(t.Context())
			defer func() { chat.CloseSend() }()
			for j := range perChat {
				if j == perChat/2 {
					killOnce.Do(func() { killStreamLeader(t, cluster) })
				}
				msg := fmt.Sprintf("%d-%d", i, j)
				if err := exchange(chat, note(5, 5, msg)); err != nil {
					// The call is over: say so, and chat on in a new one.
					t.Logf("note %s: %v", msg, err)
					failed[i][msg] = true
					chat.CloseSend()
					chat = r.chat.RouteChat(t.Context())
					continue
				}
				acked[i] = append(acked[i], msg)
			}
		})
	}
	wg.Wait()
	got, err := chatOnce(t.Context(), replicas[0].chat, note(5, 5, "last"))
	if err != nil {
		t.Fatal(err)
	}
	for i, msgs := range acked {
		if len(msgs) < perChat/2 {
			t.Errorf("chat %d: only %d of %d notes acknowledged", i, len(msgs), perChat)
		}
		var stored []string
		for _, m := range got {
			if strings.HasPrefix(m, fmt.Sprintf("%d-", i)) && !failed[i][m] {
				stored = append(stored, m)
			}
		}
		if !slices.Equal(stored, msgs) {
			t.Errorf("chat %d: acknowledged %q, stored %q", i, msgs, stored)
		}
	}
}

// exchange sends a note on an open chat and reads the replies, which end
// with it.
func exchange(chat *client.Chat, n *routeguide.RouteNote) error {
	if err := chat.Send(n); err != nil {
		_, err := chat.Receive()
		return err
	}
	for {
		reply, err := chat.Receive()
		if err != nil {
			return err
		}
		if reply.GetMessage() == n.GetMessage() {
			return nil
		}
	}
}

// killStreamLeader stops the node that leads the notes stream.
func killStreamLeader(t *testing.T, cluster natstest.Cluster) {
	for _, n := range cluster {
		if srv := n.Server(); srv != nil && srv.JetStreamIsStreamLeader("$G", "ROUTEGUIDE_NOTES") {
			n.Stop()
			return
		}
	}
	t.Error("no node leads the notes stream")
}

// TestWatchNotesContinuesOnAnotherReplica kills the replica a watcher is
// on while notes are posted on another; the watcher resumes on the other
// with after_sequence and ends up with every note, once, in order.
func TestWatchNotesContinuesOnAnotherReplica(t *testing.T) {
	nats := natstest.Start(t)
	a := newReplica(t, openJetStream(t, nats.URL(), 1))
	b := newReplica(t, openJetStream(t, nats.URL(), 1))
	ctx := t.Context()

	watch, err := a.notes.WatchNotes(ctx, &notesv1.WatchNotesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	const total = 40
	posted := make(chan error, 1)
	go func() {
		for i := range total {
			if _, err := post(ctx, b, note(int32(i), 0, fmt.Sprint(i))); err != nil {
				posted <- err
				return
			}
		}
		posted <- nil
	}()

	var got []string
	var last uint64
	var watchErr error
	for {
		res, err := watch.Receive()
		if err != nil {
			watchErr = err
			break
		}
		got = append(got, res.GetNote().GetMessage())
		last = res.GetSequence()
		if len(got) == total/4 {
			// Kill replica a: its connections drop, its store closes.
			a.ts.CloseClientConnections()
			a.store.Close()
		}
	}
	if len(got) >= total {
		t.Fatal("the watch outlived its replica")
	}
	watch.Close()
	t.Logf("watch on a ended after %d notes: %v", len(got), watchErr)

	resumed, err := b.notes.WatchNotes(ctx, &notesv1.WatchNotesRequest{AfterSequence: &last})
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	for len(got) < total {
		got = append(got, receiveWithin(t, resumed, 5*time.Second).GetNote().GetMessage())
	}
	if err := <-posted; err != nil {
		t.Fatal(err)
	}
	for i, m := range got {
		if m != fmt.Sprint(i) {
			t.Fatalf("notes seen across the two replicas: %q, want 0 to %d once each in order", got, total-1)
		}
	}
}

// TestNotesStoreUnavailable stops NATS under a replica: RouteChat,
// PostNote and WatchNotes say the notes store is unavailable, the other
// methods work, health says so, and the replica serves notes again once
// NATS is back, with no restart.
func TestNotesStoreUnavailable(t *testing.T) {
	nats := natstest.Start(t)
	r := newReplica(t, openJetStream(t, nats.URL(), 1))
	ctx := t.Context()
	health := routeguidetest.NewClient(r.ts.Client(), r.ts.URL, connecthttp.WithGRPC())
	notesHealth := func() healthpb.HealthCheckResponse_ServingStatus {
		status, err := routeguidetest.HealthCheck(ctx, health, notesv1connect.NotesServiceName)
		if err != nil {
			t.Fatal(err)
		}
		return status
	}
	if _, err := post(ctx, r, note(3, 3, "before")); err != nil {
		t.Fatal(err)
	}
	if got := notesHealth(); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("notes health with NATS up = %v", got)
	}
	// A health Watch, as a balancer may keep open, hears each change.
	cc, err := grpc.NewClient(r.ts.Listener.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	watch, err := healthpb.NewHealthClient(cc).Watch(ctx, &healthpb.HealthCheckRequest{Service: notesv1connect.NotesServiceName})
	if err != nil {
		t.Fatal(err)
	}
	nextStatus := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		res, err := watch.Recv()
		if err != nil || res.GetStatus() != want {
			t.Fatalf("health Watch: %v, %v; want %v", res.GetStatus(), err, want)
		}
	}
	nextStatus(healthpb.HealthCheckResponse_SERVING)

	nats.Stop()
	nextStatus(healthpb.HealthCheckResponse_NOT_SERVING)
	_, err = chatOnce(ctx, r.chat, note(3, 3, "down"))
	wantCode(t, err, connect.CodeUnavailable, "notes store")
	_, err = post(ctx, r, note(3, 3, "down"))
	wantCode(t, err, connect.CodeUnavailable, "notes store")
	notesWatch, err := r.notes.WatchNotes(ctx, &notesv1.WatchNotesRequest{})
	if err == nil {
		_, err = notesWatch.Receive()
		notesWatch.Close()
	}
	wantCode(t, err, connect.CodeUnavailable, "notes store")
	if _, err := r.chat.GetFeature(ctx, pt(30, 30)); err != nil {
		t.Errorf("GetFeature while NATS is down: %v", err)
	}
	if got := notesHealth(); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("notes health with NATS down = %v, want NOT_SERVING", got)
	}
	for _, service := range []string{"", "routeguide.RouteGuide"} {
		if status, err := routeguidetest.HealthCheck(ctx, health, service); err != nil || status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q with NATS down = %v, %v; want SERVING", service, status, err)
		}
	}

	nats.Restart()
	var got []string
	if !routeguidetest.Eventually(10*time.Second, func() bool {
		got, err = post(ctx, r, note(3, 3, "after"))
		return err == nil
	}) {
		t.Fatalf("notes still unavailable 10s after NATS came back: %v", err)
	}
	if want := []string{"before", "after"}; !slices.Equal(got, want) {
		t.Errorf("after NATS came back: %q, want %q", got, want)
	}
	if got := notesHealth(); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("notes health once NATS is back = %v", got)
	}
	nextStatus(healthpb.HealthCheckResponse_SERVING)
}

func TestPostNoteRejectsBadNotes(t *testing.T) {
	t.Parallel()
	r := newReplica(t, notes.NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 20}))
	ctx := t.Context()
	_, err := post(ctx, r, &routeguide.RouteNote{Message: "nowhere"})
	wantCode(t, err, connect.CodeInvalidArgument, "location is required")
	_, err = post(ctx, r, note(1_000_000_000, 0, "off the map"))
	wantCode(t, err, connect.CodeInvalidArgument, "latitude")
	long := string(make([]byte, limits.Default().MaxNoteBytes+1))
	_, err = post(ctx, r, note(1, 1, long))
	wantCode(t, err, connect.CodeInvalidArgument, "at most")
}

// TestPostNoteSharesRouteChatsStore: one store answers both.
func TestPostNoteSharesRouteChatsStore(t *testing.T) {
	t.Parallel()
	r := newReplica(t, notes.NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 20}))
	ctx := t.Context()
	if _, err := chatOnce(ctx, r.chat, note(4, 4, "chat")); err != nil {
		t.Fatal(err)
	}
	if got, err := post(ctx, r, note(4, 4, "post")); err != nil || !slices.Equal(got, []string{"chat", "post"}) {
		t.Errorf("PostNote after RouteChat: %q, %v", got, err)
	}
	if got, err := chatOnce(ctx, r.chat, note(4, 4, "chat again")); err != nil || !slices.Equal(got, []string{"chat", "post", "chat again"}) {
		t.Errorf("RouteChat after PostNote: %q, %v", got, err)
	}
}

func TestWatchNotesArea(t *testing.T) {
	t.Parallel()
	r := newReplica(t, notes.NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 20}))
	ctx := t.Context()
	// The corners in either order, edges included.
	watch, err := r.notes.WatchNotes(ctx, &notesv1.WatchNotesRequest{Area: rect(pt(20, 20), pt(10, 10))})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	for _, n := range []*routeguide.RouteNote{note(9, 15, "out"), note(10, 10, "corner"), note(15, 21, "out"), note(15, 15, "in")} {
		if _, err := post(ctx, r, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"corner", "in"} {
		if got := receiveWithin(t, watch, 5*time.Second).GetNote().GetMessage(); got != want {
			t.Errorf("watcher of the area got %q, want %q", got, want)
		}
	}
}

func TestWatchNotesRejectsBadArea(t *testing.T) {
	t.Parallel()
	r := newReplica(t, notes.NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 20}))
	watch, err := r.notes.WatchNotes(t.Context(), &notesv1.WatchNotesRequest{
		Area: rect(pt(0, 0), pt(1_000_000_000, 0)),
	})
	if err == nil {
		_, err = watch.Receive()
		watch.Close()
	}
	wantCode(t, err, connect.CodeInvalidArgument, "area")
}

// TestWatchNotesCutsOffASlowWatcher stores far more notes than a watcher
// that reads nothing can hold: it is cut off with resource_exhausted and
// told where to resume, while another watcher keeps up.
func TestWatchNotesCutsOffASlowWatcher(t *testing.T) {
	t.Parallel()
	store := notes.NewMemory(limits.Limits{MaxNotesPerLocation: 10, MaxStoredNoteBytes: 1 << 30})
	r := newReplica(t, store)
	ctx := t.Context()
	slow, err := r.notes.WatchNotes(ctx, &notesv1.WatchNotesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	// The first note tells that the watch is registered.
	if _, err := store.Add(ctx, note(0, 0, "first"), notes.Author{}); err != nil {
		t.Fatal(err)
	}
	if _, err := slow.Receive(); err != nil {
		t.Fatal(err)
	}
	// Enough to fill the connection's flow-control windows and the
	// watcher's buffer many times over.
	for i := range 100_000 {
		if _, err := store.Add(ctx, note(int32(i%1000), 0, longNote), notes.Author{}); err != nil {
			t.Fatal(err)
		}
	}
	for err == nil {
		_, err = slow.Receive()
	}
	wantCode(t, err, connect.CodeResourceExhausted, "resume with after_sequence=")
	wantCode(t, err, connect.CodeResourceExhausted, "not reading them")
	wantCode(t, err, connect.CodeResourceExhausted, "after_epoch=")
}

// longNote fills flow-control windows quickly.
var longNote = string(slices.Repeat([]byte("x"), 200))
