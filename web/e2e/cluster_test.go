package e2e

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/routeguide/routeguide/cluster"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// TestSignInThroughCluster signs in on the page as `task cluster` serves
// it: through HAProxy, from three replicas that share their notes in NATS
// JetStream and take writes from signed-in users only, with the cluster's
// own OpenID provider. Alice signs in with the provider's form and posts a
// note; a second, anonymous page, whose calls HAProxy spreads over the
// replicas as it does the first's, shows it with her name within a second,
// and cannot post.
func TestSignInThroughCluster(t *testing.T) {
	t.Parallel()
	if _, err := cluster.FindHAProxy(); err != nil {
		t.Skipf("skipping: the cluster runs HAProxy: %v", err)
	}
	buildCtx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	bins, err := cluster.Build(buildCtx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	startCtx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := cluster.Start(startCtx, cluster.Config{
		Binaries: bins,
		Dir:      t.TempDir(),
		Logger:   slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
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
	})
	front := "http://" + c.Addr() + "/"

	alice := newTab(t, 1280, 900)
	openPage(t, alice, front)
	signIn(t, alice, "alice")
	if got, want := text(t, alice, "#account-name"), "Signed in as Alice Liddell"; got != want {
		t.Errorf("account = %q, want %q", got, want)
	}
	watcher := newTab(t, 1280, 900)
	openPage(t, watcher, front)
	run(t, watcher, waitState("note-result", "sign-in-needed"))

	note := &routeguide.RouteNote{Location: &routeguide.Point{Latitude: 515007290, Longitude: -1246250}, Message: "Tea behind the balancer"}
	postFromPage(t, alice, note.Location.Latitude, note.Location.Longitude, note.Message, "done")
	sent := time.Now()
	if got, want := text(t, alice, "#note-result .replies li .author"), "Alice Liddell"; got != want {
		t.Errorf("PostNote's answer names the author %q, want %q", got, want)
	}
	waitNote(t, watcher, note, sent, liveDelay)
	if got, want := text(t, watcher, "#notes li .author"), "Alice Liddell"; got != want {
		t.Errorf("the other page names the author %q, want %q", got, want)
	}

	// The anonymous page is refused by the page itself; the replicas would
	// refuse it too (cluster/cluster_test.go).
	postFromPage(t, watcher, note.Location.Latitude, note.Location.Longitude, "anonymous", "sign-in-needed")

	// Both pages' calls went through HAProxy to more than one replica: its
	// log names the replica of every call.
	log, err := os.ReadFile(c.HAProxy().LogFile())
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, p := range c.Replicas() {
		if strings.Contains(string(log), "/"+p.Name()+" ") {
			served = append(served, p.Name())
		}
	}
	if len(served) < 2 {
		t.Errorf("HAProxy sent the pages' calls to %q, want several replicas", served)
	}
}
