package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"github.com/google/go-cmp/cmp"
	"github.com/pires/go-proxyproto"

	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/gen/routeguide/routeguideconnect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// TestHAProxyHealthChecks runs HAProxy with the cluster's configuration in
// front of real health servers that answer as replicas would: all well; cut
// off from the notes store; draining (NOT_SERVING, which a check for the
// substring SERVING would let through); and not knowing the services. Each
// must be in exactly the backends it can serve, and HAProxy must send
// RouteChat and the notes service only where the notes store is reachable.
// The servers require a PROXY protocol v2 header on every connection, as
// HAProxy sends them, health checks included.
func TestHAProxyHealthChecks(t *testing.T) {
	t.Parallel()
	bin, err := FindHAProxy()
	if err != nil {
		t.Skip(err)
	}
	const serving, notServing, unknown = "SERVING", "NOT_SERVING", ""
	c := &Cluster{dir: t.TempDir(), logger: slog.New(slog.DiscardHandler)}
	checkers := make(map[string]*healthStub)
	for _, r := range []struct {
		name              string
		routeGuide, notes string // unknown: not registered
	}{
		{"well", serving, serving},
		{"notes-down", serving, notServing},
		{"draining", notServing, notServing},
		{"unknown", unknown, unknown},
	} {
		checker := &healthStub{statuses: make(map[string]string)}
		checkers[r.name] = checker
		for service, status := range map[string]string{
			routeguideconnect.RouteGuideName: r.routeGuide,
			notesv1connect.NotesServiceName:  r.notes,
		} {
			if status != unknown {
				checker.SetStatus(service, status)
			}
		}
		mux := http.NewServeMux()
		mux.Handle(healthPath, checker)
		// Reads the call before it answers, as a replica does: HAProxy was
		// seen to leave its x-routeguide-replica header off answers sent
		// before the request's body was read.
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			http.NotFound(w, r)
		})
		addr := newProxiedServer(t, mux).Listener.Addr().String()
		c.replicas = append(c.replicas, &Process{name: r.name, addr: addr})
	}
	ports, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	haproxy, err := c.newHAProxy(ports[0], ports[1], bin)
	if err != nil {
		t.Fatal(err)
	}
	up, down := Backend{Status: "UP", Check: "L7OK"}, Backend{Status: "DOWN", Check: "L7RSP"}
	want := map[string]Backend{
		"routeguide/well": up, "routeguide/notes-down": up, "routeguide/draining": down, "routeguide/unknown": down,
		"notes/well": up, "notes/notes-down": down, "notes/draining": down, "notes/unknown": down,
	}
	var got map[string]Backend
	haproxy.ready = func(ctx context.Context) error {
		return poll(ctx, func(ctx context.Context) error {
			got, err = c.Backends(ctx)
			if err == nil && !cmp.Equal(got, want) {
				return errors.New("not yet")
			}
			return err
		})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = haproxy.Start(ctx)
	t.Cleanup(func() { haproxy.Stop(context.Background()) })
	if err != nil {
		t.Errorf("HAProxy's backends (-want +got):\n%s", cmp.Diff(want, got))
		t.Fatal(err)
	}

	// The health servers answer 404 to RPCs; HAProxy still says where it
	// sent them.
	client := routeguidetest.H2CClient()
	t.Cleanup(client.CloseIdleConnections) // or HAProxy waits for it to stop
	servedBy := func(procedure string) []string {
		var served []string
		for range 4 {
			res, err := client.Post("http://"+haproxy.Addr()+procedure, "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			served = append(served, res.Header.Get("X-Routeguide-Replica"))
		}
		return slices.Compact(slices.Sorted(slices.Values(served)))
	}
	for _, tt := range []struct {
		procedure string
		want      []string
	}{
		{routeguideconnect.RouteGuideGetFeatureProcedure, []string{"notes-down", "well"}},
		{routeguideconnect.RouteGuideRouteChatProcedure, []string{"well"}},
		{notesv1connect.NotesServicePostNoteProcedure, []string{"well"}},
		{notesv1connect.NotesServiceWatchNotesProcedure, []string{"well"}},
	} {
		if got := servedBy(tt.procedure); !slices.Equal(got, tt.want) {
			t.Errorf("%s went to %q, want %q", tt.procedure, got, tt.want)
		}
	}

	// The notes store out of reach everywhere: HAProxy answers for notes
	// itself, with unavailable and the reason, in each protocol.
	checkers["well"].SetStatus(notesv1connect.NotesServiceName, notServing)
	var backends map[string]Backend
	if !routeguidetest.Eventually(10*time.Second, func() bool {
		if backends, err = c.Backends(ctx); err != nil {
			t.Fatal(err)
		}
		return backends["notes/well"].Status == "DOWN"
	}) {
		t.Fatalf("notes/well is %v, want DOWN", backends["notes/well"])
	}
	front := "http://" + haproxy.Addr()
	note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: 1, Longitude: 1}, Message: "hi"}
	post := func(client *http.Client, options ...connecthttp.Option) error {
		_, err := notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(client, front, options...))).
			PostNote(ctx, &notesv1.PostNoteRequest{Note: note})
		return err
	}
	chat := func() error {
		stream, err := routeguideconnect.NewRouteGuideClient(connect.NewClient(connecthttp.NewTransport(client, front, connecthttp.WithGRPC()))).RouteChat(ctx)
		if err != nil {
			return err
		}
		defer stream.Close()
		if err := stream.Send(note); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if err := stream.CloseSend(); err != nil {
			return err
		}
		_, err = stream.Receive()
		return err
	}
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"RouteChat, gRPC", chat()},
		{"PostNote, gRPC", post(client, connecthttp.WithGRPC())},
		{"PostNote, gRPC-Web over HTTP/1.1", post(routeguidetest.HTTP1Client(), connecthttp.WithGRPCWeb())},
		{"PostNote, Connect JSON over HTTP/1.1", post(routeguidetest.HTTP1Client(), connecthttp.WithProtoJSON())},
		{"PostNote, Connect binary", post(client)},
	} {
		if connect.CodeOf(tt.err) != connect.CodeUnavailable || !strings.Contains(tt.err.Error(), noNotesMessage) {
			t.Errorf("%s with no replica reaching the notes store: %v, want unavailable: %s", tt.name, tt.err, noNotesMessage)
		}
	}
}

// newProxiedServer serves handler as [routeguidetest.NewServer] does, on a
// listener that requires a PROXY protocol v2 header on every connection:
// one without is closed unanswered.
func newProxiedServer(t *testing.T, handler http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(handler)
	ts.Listener = &proxyproto.Listener{
		Listener:          ts.Listener,
		ReadHeaderTimeout: 5 * time.Second,
		ConnPolicy: func(proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			return proxyproto.REQUIRE, nil
		},
		ValidateHeader: func(h *proxyproto.Header) error {
			if h.Version != 2 {
				return fmt.Errorf("PROXY protocol version %d, want 2", h.Version)
			}
			return nil
		},
	}
	ts.Config.Protocols = new(http.Protocols)
	ts.Config.Protocols.SetHTTP1(true)
	ts.Config.Protocols.SetUnencryptedHTTP2(true)
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// healthStub answers grpc.health.v1 Check over Connect JSON as a replica
// does, with the canonical names of the statuses, which the test sets.
type healthStub struct {
	mu       sync.Mutex // protects statuses
	statuses map[string]string
}

func (h *healthStub) SetStatus(service, status string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.statuses[service] = status
}

func (h *healthStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct{ Service string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	status, ok := h.statuses[req.Service]
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"code":"not_found","message":"unknown service %s"}`, req.Service)
		return
	}
	fmt.Fprintf(w, `{"status":%q}`, status)
}
