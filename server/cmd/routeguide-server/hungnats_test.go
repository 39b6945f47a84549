//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"github.com/nats-io/nats.go"
	dto "github.com/prometheus/client_model/go"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/cluster"
	"github.com/routeguide/routeguide/gen/routeguide"
	notesv1 "github.com/routeguide/routeguide/gen/routeguide/notes/v1"
	"github.com/routeguide/routeguide/gen/routeguide/notes/v1/notesv1connect"
	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// natsProcess runs the nats-server pinned in tools/go.mod as a child
// process with JetStream on a loopback port it picks, and returns its URL
// and process: a test can stop it with SIGSTOP, which an in-process server
// cannot be.
func natsProcess(t *testing.T) (string, *os.Process) {
	t.Helper()
	dir := t.TempDir()
	nats, err := cluster.BuildNATS(t.Context(), "../../..", dir)
	if err != nil {
		t.Fatalf("build nats-server: %v", err)
	}
	cmd := exec.Command(nats, "-a", "127.0.0.1", "-p", "-1", "-js",
		"-sd", filepath.Join(dir, "jetstream"), "--ports_file_dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	var ports struct {
		Nats []string `json:"nats"`
	}
	if !eventually(20*time.Second, func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "*.ports"))
		if len(files) == 0 {
			return false
		}
		data, err := os.ReadFile(files[0])
		return err == nil && json.Unmarshal(data, &ports) == nil && len(ports.Nats) > 0
	}) {
		t.Fatal("nats-server not listening in 20s")
	}
	return ports.Nats[0], cmd.Process
}

// TestRunNoticesAHungNATS runs the command on a real nats-server and
// stops that with SIGSTOP: within 5 s the notes service's health is
// NOT_SERVING, routeguide_notes_store_up is 0, PostNote answers
// unavailable at once and an open watch ends unavailable, saying the
// sequence and epoch to resume from. After SIGCONT all of it recovers by
// itself, and no acknowledged note is lost. A message in the stream that is
// not a note is counted in routeguide_notes_skipped_total.
func TestRunNoticesAHungNATS(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for seconds-long probes")
	}
	natsURL, proc := natsProcess(t)
	s := startRun(t, []string{"--addr=127.0.0.1:0", "--admin-addr=127.0.0.1:0", "--log-format=json", "--notes=" + natsURL}, nil)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	httpClient := routeguidetest.H2CClient()
	defer httpClient.CloseIdleConnections()
	c := notesv1connect.NewNotesServiceClient(connect.NewClient(connecthttp.NewTransport(httpClient, s.addr, connecthttp.WithGRPC())))
	health := routeguidetest.NewClient(httpClient, s.addr, connecthttp.WithGRPC())
	at := &routeguide.Point{Latitude: 7, Longitude: 7}
	postNote := func(msg string) ([]string, error) {
		res, err := c.PostNote(ctx, &notesv1.PostNoteRequest{Note: &routeguide.RouteNote{Location: at, Message: msg}})
		var got []string
		for _, n := range res.GetNotes() {
			got = append(got, n.GetMessage())
		}
		return got, err
	}

	// A message that is not a note, skipped by the feed and counted.
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Publish("routeguide.notes.7.8", []byte("bad \xff utf-8")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	watch, err := c.WatchNotes(ctx, &notesv1.WatchNotesRequest{AfterSequence: proto.Uint64(0)})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	if _, err := postNote("before"); err != nil {
		t.Fatal(err)
	}
	var seen *notesv1.WatchNotesResponse
	for seen.GetNote().GetMessage() != "before" {
		if seen, err = watch.Receive(); err != nil {
			t.Fatal(err)
		}
	}
	if !eventually(10*time.Second, func() bool {
		return counter(scrape(t, s.adminAddr+"/metrics"), "routeguide_notes_skipped_total") >= 1
	}) {
		t.Error("routeguide_notes_skipped_total stayed 0 with a message that is not a note in the stream")
	}

	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if !eventually(5*time.Second, func() bool {
		status, err := routeguidetest.HealthCheck(ctx, health, notesv1connect.NotesServiceName)
		return err == nil && status == healthpb.HealthCheckResponse_NOT_SERVING
	}) {
		t.Fatal("notes health still not NOT_SERVING 5s after NATS stopped")
	}
	t.Logf("NOT_SERVING %v after SIGSTOP", time.Since(stopped).Round(time.Millisecond))
	if up := gauge(scrape(t, s.adminAddr+"/metrics"), "routeguide_notes_store_up"); up != 0 {
		t.Errorf("routeguide_notes_store_up = %v with NATS stopped, want 0", up)
	}
	start := time.Now()
	if _, err := postNote("refused"); connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("PostNote with NATS stopped: %v, want unavailable", err)
	}
	// At once, next to the 10 s it used to take: the shared write budget,
	// kept on the same NATS, waits up to its 1 s timeout before the
	// replica decides alone, and the store then refuses without waiting.
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("PostNote took %v to fail, want at once", took)
	}
	_, err = watch.Receive()
	wantResume := fmt.Sprintf("after_sequence=%d and after_epoch=%q", seen.GetSequence(), seen.GetEpoch())
	if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), wantResume) {
		t.Errorf("open watch with NATS stopped: %v, want unavailable saying %s", err, wantResume)
	}

	if err := proc.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if !eventually(30*time.Second, func() bool {
		status, err := routeguidetest.HealthCheck(ctx, health, notesv1connect.NotesServiceName)
		return err == nil && status == healthpb.HealthCheckResponse_SERVING
	}) {
		t.Fatal("notes health not SERVING again 30s after SIGCONT")
	}
	if up := gauge(scrape(t, s.adminAddr+"/metrics"), "routeguide_notes_store_up"); up != 1 {
		t.Errorf("routeguide_notes_store_up = %v after SIGCONT, want 1", up)
	}
	resumed, err := c.WatchNotes(ctx, &notesv1.WatchNotesRequest{
		AfterSequence: proto.Uint64(seen.GetSequence()), AfterEpoch: proto.String(seen.GetEpoch()),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	got, err := postNote("after")
	if err != nil {
		t.Fatal(err)
	}
	// "refused" may have been stored before its call failed.
	if want := "before after"; strings.Join(got, " ") != want && strings.Join(got, " ") != "before refused after" {
		t.Errorf("notes at the location after NATS came back: %q, want %q", got, want)
	}
	for {
		res, err := resumed.Receive()
		if err != nil {
			t.Fatalf("resumed watch: %v", err)
		}
		if m := res.GetNote().GetMessage(); m == "after" {
			break
		} else if m != "refused" {
			t.Errorf("resumed watch got %q", m)
		}
	}
}

// counter returns the value of the counter sample named name, or 0.
func counter(families map[string]*dto.MetricFamily, name string) float64 {
	for _, m := range families[name].GetMetric() {
		return m.GetCounter().GetValue()
	}
	return 0
}
