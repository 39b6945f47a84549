package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/natstest"
)

// TestRunWithNotesOnNATS runs two servers on one NATS, set by the flag and
// by the environment: a note sent to one is in the reply of the other, and
// the metrics say the store is up.
func TestRunWithNotesOnNATS(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	a := startRun(t, []string{"--addr=127.0.0.1:0", "--admin-addr=127.0.0.1:0", "--log-format=json", "--notes=" + nats.URL()}, nil)
	b := startRun(t, nil, map[string]string{
		"ROUTEGUIDE_ADDR": "127.0.0.1:0", "ROUTEGUIDE_LOG_FORMAT": "json", "ROUTEGUIDE_NOTES": nats.URL(),
	})
	at := &routeguide.Point{Latitude: 7, Longitude: 7}
	for _, step := range []struct {
		s    *runningServer
		msg  string
		want []string
	}{
		{a, "to a", []string{"to a"}},
		{b, "to b", []string{"to a", "to b"}},
	} {
		if got := chatReplies(t, step.s, at, step.msg); !slices.Equal(got, step.want) {
			t.Errorf("chat %q: replies %q, want %q", step.msg, got, step.want)
		}
	}
	if _, metrics := get(t, a.adminAddr+"/metrics"); !strings.Contains(metrics, "routeguide_notes_store_up 1") {
		t.Errorf("metrics do not say the notes store is up:\n%s", metrics)
	}
}

// TestRunGivesUpOnUnreachableNATS: with no NATS at the URL, run stops once
// the open timeout has passed, naming the setting and the URL without its
// password.
func TestRunGivesUpOnUnreachableNATS(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	url := strings.Replace(nats.URL(), "nats://", "nats://user:secret@", 1)
	nats.Stop()
	var stderr strings.Builder
	start := time.Now()
	err := run(t.Context(), []string{"--addr=127.0.0.1:0", "--notes=" + url, "--notes-open-timeout=1s"},
		func(string) string { return "" }, &stderr)
	if err == nil {
		t.Fatal("run started without its notes store")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("run took %v to give up", took)
	}
	for _, want := range []string{"--notes", "not reachable", "is NATS running"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q shows the password", err)
	}
}
