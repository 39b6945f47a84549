package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/cluster"
	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// TestCluster plays what an operator fears against a real cluster: three
// NATS nodes, three replicas and HAProxy. Through HAProxy, one-note
// RouteChat calls at one location must each get every note sent there so
// far, in the order sent, whichever replica answers: from the start, after
// a replica is killed, after the NATS node leading the notes stream is
// killed and restarted, and after the replica comes back. A watcher on one
// replica must see notes posted on the others within a second. Writes need
// a token from the cluster's OpenID provider, which every replica accepts.
func TestCluster(t *testing.T) {
	t.Parallel()
	c := startCluster(t, cluster.Config{})
	ctx := t.Context()
	front := "http://" + c.Addr()
	token, err := c.Token(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// One HTTP/2 connection to HAProxy for every call: the calls spread
	// over the replicas only if HAProxy balances each stream.
	h2c := routeguidetest.H2CClient()
	t.Cleanup(h2c.CloseIdleConnections) // or HAProxy waits for it to stop
	chat := &chatter{
		client:   routeguideconnect.NewRouteGuideClient(connect.NewClient(connecthttp.NewTransport(withBearer(h2c, token), front, connecthttp.WithGRPC()))),
		location: &routeguide.Point{Latitude: 515007290, Longitude: -1246250},
	}
	replicas := []string{"routeguide-1", "routeguide-2", "routeguide-3"}

	t.Run("balanced", func(t *testing.T) {
		served := chat.run(t, 6)
		if got := slices.Sorted(slices.Values(served)); !slices.Equal(slices.Compact(got), replicas) {
			t.Errorf("six calls on one connection were served by %q, want all of %q", served, replicas)
		}
	})

	t.Run("HTTP/1.1", func(t *testing.T) {
		// Connect JSON over HTTP/1.1, as curl sends it; HAProxy speaks
		// HTTP/2 to the replica.
		rg := routeguideconnect.NewRouteGuideClient(connect.NewClient(connecthttp.NewTransport(routeguidetest.HTTP1Client(), front, connecthttp.WithProtoJSON())))
		res, err := rg.GetFeature(ctx, &routeguide.Point{Latitude: 488583700, Longitude: 22944810})
		if err != nil {
			t.Fatalf("GetFeature: %v", err)
		}
		if !strings.HasPrefix(res.GetName(), "Eiffel Tower") {
			t.Errorf("GetFeature = %q, want the Eiffel Tower", res.GetName())
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		// Reads need no token; writes do, whichever replica takes them.
		for _, p := range []protocol{{"gRPC", routeguidetest.H2CClient(), connecthttp.WithGRPC()}, {"Connect", routeguidetest.HTTP1Client(), connecthttp.WithProtoJSON()}} {
			notes := notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(p.client, front, p.option)))
			_, err := notes.PostNote(ctx, &notesv1.PostNoteRequest{Note: &routeguide.RouteNote{Location: chat.location, Message: "anonymous"}})
			if connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Errorf("anonymous PostNote over %s through HAProxy: %v, want unauthenticated", p.name, err)
			}
		}
	})

	t.Run("watch", func(t *testing.T) {
		watchAcrossReplicas(t, c, token)
	})

	t.Run("replica killed", func(t *testing.T) {
		c.Replicas()[1].Kill()
		served := chat.run(t, 4)
		if slices.Contains(served, "routeguide-2") {
			t.Errorf("calls after routeguide-2 was killed were served by %q", served)
		}
	})

	t.Run("NATS leader restarted", func(t *testing.T) {
		leader := streamLeader(t, c)
		t.Logf("killing %s, which leads the notes stream", leader.Name())
		leader.Kill()
		// Two nodes of three keep the stream: they elect a new leader, and
		// the replicas that were on the killed node move to another. The
		// first calls wait for that, which on a loaded machine has taken
		// more than 10 s.
		chat.patience = 30 * time.Second
		defer func() { chat.patience = 0 }()
		start := time.Now()
		chat.run(t, 4)
		t.Logf("4 calls with %s down took %v", leader.Name(), time.Since(start))
		startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := leader.Start(startCtx); err != nil {
			t.Fatal(err)
		}
		chat.run(t, 4)
	})

	t.Run("replica back", func(t *testing.T) {
		startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := c.Replicas()[1].Start(startCtx); err != nil {
			t.Fatal(err)
		}
		waitBackends(t, c, "UP")
		served := chat.run(t, 6)
		if !slices.Contains(served, "routeguide-2") {
			t.Errorf("calls after routeguide-2 came back were served by %q, not by it", served)
		}
	})
}

// startCluster starts a cluster as cfg says, with the programs [binaries]
// builds unless cfg names them, in a directory of the test's, which stops
// it at the end and shows the tail of every process's log if the test
// failed.
func startCluster(t *testing.T, cfg cluster.Config) *cluster.Cluster {
	t.Helper()
	if cfg.Binaries == (cluster.Binaries{}) {
		cfg.Binaries = binaries(t)
	}
	cfg.Dir = t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range c.Processes() {
				p.WriteLogTail(t.Output())
			}
		}
		if err := c.Close(); err != nil {
			t.Error(err)
		}
		for _, p := range c.Processes() {
			if pid := p.PID(); pid != 0 {
				t.Errorf("%s (pid %d) still running after Close", p.Name(), pid)
			}
		}
	})
	return c
}

// built holds the programs the tests run, built once for all of them.
var built struct {
	once sync.Once
	dir  string
	bins cluster.Binaries
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// binaries builds routeguide-server and finds nats-server and HAProxy, or
// skips the test if HAProxy is not installed.
func binaries(t *testing.T) cluster.Binaries {
	t.Helper()
	if _, err := cluster.FindHAProxy(); err != nil {
		t.Skipf("skipping: the cluster runs HAProxy: %v", err)
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "routeguide-cluster-test-"); built.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		built.bins, built.err = cluster.Build(ctx, built.dir)
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bins
}

// chatter makes one-note RouteChat calls at one location and checks each
// reply against every note it has sent there.
type chatter struct {
	client   routeguideconnect.RouteGuideClient
	location *routeguide.Point
	sent     []string // messages sent so far, in order
	// patience bounds each call; 10 s unless set.
	patience time.Duration
}

// run makes n calls, one after the other, and returns the replica that
// served each, as HAProxy names it.
func (ch *chatter) run(t *testing.T, n int) []string {
	t.Helper()
	var served []string
	for range n {
		replica, err := ch.chat(t.Context())
		if err != nil {
			t.Fatalf("RouteChat call %d: %v", len(ch.sent), err)
		}
		served = append(served, replica)
	}
	return served
}

func (ch *chatter) chat(ctx context.Context) (string, error) {
	patience := ch.patience
	if patience == 0 {
		patience = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	msg := fmt.Sprintf("note %d", len(ch.sent)+1)
	ctx, info := connect.NewClientContext(ctx)
	stream, err := ch.client.RouteChat(ctx)
	if err != nil {
		return "", err
	}
	defer stream.Close()
	if err := stream.Send(&routeguide.RouteNote{Location: ch.location, Message: msg}); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if err := stream.CloseSend(); err != nil {
		return "", err
	}
	var got []string
	for {
		note, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		got = append(got, note.GetMessage())
	}
	replica := info.ResponseHeader().Get("X-Routeguide-Replica")
	ch.sent = append(ch.sent, msg)
	if diff := cmp.Diff(ch.sent, got); diff != "" {
		return replica, fmt.Errorf("%s answered %q with (-want +got):\n%s", replica, msg, diff)
	}
	return replica, nil
}

// watchAcrossReplicas watches on the first replica and posts on the others
// with token, once with PostNote in Connect JSON over HTTP/1.1, as curl
// would, and once with RouteChat over gRPC.
func watchAcrossReplicas(t *testing.T, c *cluster.Cluster, token string) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	replicaURL := func(i int) string { return "http://" + c.Replicas()[i].Addr() }
	watcher := notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(routeguidetest.H2CClient(), replicaURL(0), connecthttp.WithGRPC())))
	poster := notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(withBearer(routeguidetest.HTTP1Client(), token), replicaURL(1), connecthttp.WithProtoJSON())))
	chatter := routeguideconnect.NewRouteGuideClient(connect.NewClient(connecthttp.NewTransport(withBearer(routeguidetest.H2CClient(), token), replicaURL(2), connecthttp.WithGRPC())))
	where := &routeguide.Point{Latitude: 407838351, Longitude: -746143763}

	// Not waited for: the call returns with the first note, or the
	// response's headers, whichever the replica sends first.
	seen := make(chan string, 64)
	var watchErr error
	go func() {
		defer close(seen)
		stream, err := watcher.WatchNotes(ctx, &notesv1.WatchNotesRequest{})
		if err != nil {
			watchErr = err
			return
		}
		defer stream.Close()
		for {
			res, err := stream.Receive()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					watchErr = err
				}
				return
			}
			seen <- res.GetNote().GetMessage()
		}
	}()
	post := func(msg string) {
		note := &routeguide.RouteNote{Location: where, Message: msg}
		if _, err := poster.PostNote(ctx, &notesv1.PostNoteRequest{Note: note}); err != nil {
			t.Fatalf("PostNote %q on %s: %v", msg, c.Replicas()[1].Name(), err)
		}
	}
	// A watch sees notes posted once it has begun, which its caller cannot
	// know: post until one arrives.
	for i := 0; ; i++ {
		post(fmt.Sprintf("warm-up %d", i))
		select {
		case _, ok := <-seen:
			if !ok {
				t.Fatalf("WatchNotes on %s: %v", c.Replicas()[0].Name(), watchErr)
			}
		case <-time.After(200 * time.Millisecond):
			continue
		case <-ctx.Done():
			t.Fatalf("WatchNotes on %s saw no note posted on %s", c.Replicas()[0].Name(), c.Replicas()[1].Name())
		}
		break
	}
	await := func(msg, how string, sent time.Time) {
		t.Helper()
		deadline := time.After(time.Second)
		for {
			select {
			case got, ok := <-seen:
				if !ok {
					t.Fatalf("WatchNotes ended: %v", watchErr) // written before seen was closed
				}
				if got == msg {
					t.Logf("WatchNotes on %s saw %s %v after it was sent", c.Replicas()[0].Name(), how, time.Since(sent))
					return
				}
			case <-deadline:
				t.Fatalf("WatchNotes on %s did not see %s within a second", c.Replicas()[0].Name(), how)
			}
		}
	}

	sent := time.Now()
	post("posted")
	await("posted", "a note posted with PostNote on "+c.Replicas()[1].Name(), sent)

	sent = time.Now()
	chat, err := chatter.RouteChat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := chat.Send(&routeguide.RouteNote{Location: where, Message: "chatted"}); err != nil {
		t.Fatalf("RouteChat on %s: %v", c.Replicas()[2].Name(), err)
	}
	if _, err := chat.Receive(); err != nil {
		t.Fatalf("RouteChat on %s: %v", c.Replicas()[2].Name(), err)
	}
	await("chatted", "a note sent with RouteChat on "+c.Replicas()[2].Name(), sent)
	chat.CloseSend()
	chat.Close()
}

// streamLeader returns the NATS node that leads the notes stream, as the
// nodes' monitoring says, and checks that the stream keeps three replicas.
func streamLeader(t *testing.T, c *cluster.Cluster) *cluster.Process {
	t.Helper()
	var jsz struct {
		Accounts []struct {
			Streams []struct {
				Name    string `json:"name"`
				Cluster struct {
					Leader   string            `json:"leader"`
					Replicas []json.RawMessage `json:"replicas"`
				} `json:"cluster"`
			} `json:"stream_detail"`
		} `json:"account_details"`
	}
	url := "http://" + c.NATS()[0].MonitorAddr() + "/jsz?accounts=true&streams=true"
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&jsz); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	for _, account := range jsz.Accounts {
		for _, stream := range account.Streams {
			// The leader and its followers.
			if got := 1 + len(stream.Cluster.Replicas); got != 3 {
				t.Errorf("stream %s has %d replicas, want 3", stream.Name, got)
			}
			for _, node := range c.NATS() {
				if node.Name() == stream.Cluster.Leader {
					return node
				}
			}
			t.Fatalf("stream %s is led by %q, not a node of the cluster", stream.Name, stream.Cluster.Leader)
		}
	}
	t.Fatalf("GET %s: no stream", url)
	return nil
}

// waitBackends waits until HAProxy gives every replica the status want.
func waitBackends(t *testing.T, c *cluster.Cluster, want string) {
	t.Helper()
	var backends map[string]cluster.Backend
	var err error
	ok := routeguidetest.Eventually(10*time.Second, func() bool {
		if backends, err = c.Backends(t.Context()); err != nil {
			return true
		}
		for _, b := range backends {
			if b.Status != want {
				return false
			}
		}
		return true
	})
	switch {
	case err != nil:
		t.Fatal(err)
	case !ok:
		t.Fatalf("HAProxy's backends: %v, want all %s", backends, want)
	}
}

// protocol is an RPC protocol and the HTTP client that carries it.
type protocol struct {
	name   string
	client *http.Client
	option connecthttp.Option
}

// withBearer returns a copy of client that sends token in every request's
// Authorization header, as the Go client's --token does.
func withBearer(client *http.Client, token string) *http.Client {
	c := *client
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = bearerTransport{next: next, header: "Bearer " + token}
	return &c
}

type bearerTransport struct {
	next   http.RoundTripper
	header string
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", b.header)
	return b.next.RoundTrip(r)
}
