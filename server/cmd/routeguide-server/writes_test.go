package main

import (
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/natstest"
)

// TestRunSharesWriteBudgetOverNATS: two replicas on one NATS charge one
// client's notes to one budget, so that the client gets its burst once,
// not once per replica, and the refusal is counted.
func TestRunSharesWriteBudgetOverNATS(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	args := func() []string {
		return []string{"--addr=127.0.0.1:0", "--admin-addr=127.0.0.1:0", "--log-format=json", "--notes=" + nats.URL(),
			"--write-burst=3", "--write-rate=1"}
	}
	replicas := []*runningServer{startRun(t, args(), nil), startRun(t, args(), nil)}
	at := &routeguide.Point{Latitude: 9, Longitude: 9}
	accepted := 0
	var err error
	for i := range 10 {
		if err = chatNote(t, replicas[i%2], at, "flood"); err != nil {
			break
		}
		accepted++
	}
	if accepted != 3 {
		t.Errorf("the replicas together accepted %d notes before refusing, want the burst, 3", accepted)
	}
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("refusal %v: want resource_exhausted", err)
	}
	refuser := replicas[accepted%2]
	_, metrics := get(t, refuser.adminAddr+"/metrics")
	if !strings.Contains(metrics, `routeguide_writes_refused_total{`) || !strings.Contains(metrics, `reason="over_budget"`) {
		t.Errorf("metrics do not count the refusal:\n%s", metrics)
	}
	if strings.Contains(metrics, "routeguide_writes_budget_unshared_total") {
		t.Errorf("metrics count writes checked alone while NATS answered:\n%s", metrics)
	}

	// Without NATS the replica decides alone, from the budget as it last
	// saw it: spent, not full again.
	nats.Stop()
	if err := chatNote(t, refuser, at, "flood"); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Errorf("a note past the budget with NATS stopped: %v, want resource_exhausted", err)
	}
	_, metrics = get(t, refuser.adminAddr+"/metrics")
	if !regexp.MustCompile(`(?m)^routeguide_writes_budget_unshared_total{decision="refused"[^}]*} 1$`).MatchString(metrics) {
		t.Errorf("metrics do not count the write checked alone:\n%s", metrics)
	}
}

// chatNote sends one note over RouteChat to s and reads the replies.
func chatNote(t *testing.T, s *runningServer, at *routeguide.Point, msg string) error {
	t.Helper()
	chat := newRPCClient(t, s.addr).RouteChat(t.Context())
	if err := chat.Send(&routeguide.RouteNote{Location: at, Message: msg}); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	chat.CloseSend()
	for _, err := range chat.Replies() {
		if err != nil {
			return err
		}
	}
	return nil
}
