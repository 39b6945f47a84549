package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// serverBin is the routeguide-server the tests start, built once.
var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "routeguide-soak-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin, err = buildServer(context.Background(), "", dir, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	// The tool's clients and servers must all be gone when it returns.
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// soak runs the tool with args against a server it starts from serverBin
// and returns what it printed and its error.
func soak(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	args = append(args[:1:1], append([]string{"--server-bin", serverBin, "--sample", "500ms"}, args[1:]...)...)
	err := run(t.Context(), args, &out, &out)
	t.Logf("routeguide-soak %s:\n%s", strings.Join(args, " "), out.String())
	return out.String(), err
}

func wantLine(t *testing.T, out, pattern string) {
	t.Helper()
	if !regexp.MustCompile(`(?m)` + pattern).MatchString(out) {
		t.Errorf("output has no line matching %q", pattern)
	}
}

func TestChat(t *testing.T) {
	t.Parallel()
	out, err := soak(t, "chat", "--clients", "8", "--notes", "50", "--locations", "4")
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	wantLine(t, out, `^chat: .*windows must be full: true$`)
	wantLine(t, out, `^notes sent +400$`)
	wantLine(t, out, `^lost 0, duplicated 0, reordered 0, other 0, failed streams 0$`)
	wantLine(t, out, `^server exit: 0; data races logged: 0; panics logged: 0$`)
}

// TestChatEvicting runs notes past both of the store's bounds, so that
// windows are cut short by eviction, over the Connect protocol.
func TestChatEvicting(t *testing.T) {
	t.Parallel()
	out, err := soak(t, "chat", "--clients", "8", "--notes", "100", "--locations", "50",
		"--max-notes-per-location", "4", "--max-stored-note-bytes", "20000", "--protocol", "connect")
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	wantLine(t, out, `^chat: .*windows must be full: false$`)
	wantLine(t, out, `^lost 0, duplicated 0, reordered 0, other 0, failed streams 0$`)
}

func TestChatServerGone(t *testing.T) {
	t.Parallel()
	_, err := soak(t, "chat", "--addr", "127.0.0.1:1", "--clients", "2", "--notes", "3")
	if !errors.Is(err, errViolation) {
		t.Errorf("chat with no server: got %v, want a violation", err)
	}
}

func TestStreams(t *testing.T) {
	t.Parallel()
	out, err := soak(t, "streams", "--streams", "30", "--per-connection", "10", "--every", "100ms",
		"--duration", "2s", "--warmup", "500ms")
	if err != nil {
		t.Fatalf("streams: %v", err)
	}
	wantLine(t, out, `^held .*lost 0, duplicated 0, reordered 0, other 0, failed streams 0$`)
	wantLine(t, out, `^rss after the 500ms warm-up: `)
}

func TestRoutePush(t *testing.T) {
	t.Parallel()
	out, err := soak(t, "route-push", "--server-flag=--max-route-points=5000", "--bytes", "1000000")
	if err != nil {
		t.Fatalf("route-push: %v", err)
	}
	wantLine(t, out, `^RecordRoute ended resource_exhausted: .*at most 5000 points$`)
	wantLine(t, out, `^GetFeature meanwhile: \d+ ok, 0 failed`)
}

func TestLocations(t *testing.T) {
	t.Parallel()
	out, err := soak(t, "locations", "--locations", "3000", "--streams", "3", "--max-stored-note-bytes", "100000")
	if err != nil {
		t.Fatalf("locations: %v", err)
	}
	wantLine(t, out, `^notes sent +3000, replies 3000, windows other than the note alone 0, failed streams 0$`)
}

func TestDrain(t *testing.T) {
	t.Parallel()
	// The time allowed is generous: the test checks how streams end, not
	// how fast on a shared machine; the tool's run prints that.
	out, err := soak(t, "drain", "--streams", "30", "--per-connection", "10", "--getters", "2", "--hold", "500ms", "--within", "20s")
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	for _, kind := range []string{"ListFeatures", "RecordRoute", "RouteChat"} {
		wantLine(t, out, `^`+kind+` +10 streams: 10 ended unavailable within 20s of SIGTERM`)
	}
	wantLine(t, out, `^GetFeature during the drain: \d+ ok, 0 failed`)
}

func TestUsage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"nonsense"}, &out, &out); err == nil || !strings.Contains(err.Error(), "unknown mode") {
		t.Errorf("unknown mode: got %v", err)
	}
	if err := run(t.Context(), []string{"drain", "--addr", "127.0.0.1:1"}, &out, &out); err == nil {
		t.Error("drain with --addr: got no error")
	}
}

// TestFindModule keeps the tool able to build the server from the
// directories it is run in.
func TestFindModule(t *testing.T) {
	t.Parallel()
	dir, err := findModule()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "server", "cmd", "routeguide-server", "main.go")); err != nil {
		t.Errorf("module found at %s has no server: %v", dir, err)
	}
}
