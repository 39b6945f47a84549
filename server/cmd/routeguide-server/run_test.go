package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// runningServer is a run call serving in the background.
type runningServer struct {
	addr      string // the RPC listener's, as http://HOST:PORT
	adminAddr string // the admin listener's, as http://HOST:PORT, if any
	logs      *logLines
	stop      func() error
}

// logLines keeps what run writes to stderr, a line at a time.
type logLines struct {
	mu    sync.Mutex // protects lines
	lines []string
	added chan struct{} // closed and replaced when a line is added
}

// records returns the lines logged so far that are JSON objects.
func (l *logLines) records() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var records []map[string]any
	for _, line := range l.lines {
		var record map[string]any
		if json.Unmarshal([]byte(line), &record) == nil {
			records = append(records, record)
		}
	}
	return records
}

// waitFor waits for a JSON record with message msg and returns it, or
// returns nil if run ends first.
func (l *logLines) waitFor(t *testing.T, msg string, done <-chan struct{}) map[string]any {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		added := l.added
		l.mu.Unlock()
		for _, r := range l.records() {
			if r["msg"] == msg {
				return r
			}
		}
		select {
		case <-added:
		case <-done:
			return nil
		case <-timeout:
			t.Fatalf("no %q record logged in 30s", msg)
		}
	}
}

// startRun calls run with args and an environment of env, and waits until
// it listens. The logs must be JSON. run is stopped when the test ends.
func startRun(t *testing.T, args []string, env map[string]string) *runningServer {
	t.Helper()
	return startRunWith(t, args, func(name string) string { return env[name] })
}

func startRunWith(t *testing.T, args []string, getenv func(string) string) *runningServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	reader, writer := io.Pipe()
	logs := &logLines{added: make(chan struct{})}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		scanner := bufio.NewScanner(reader)
		for scanner.Scan() {
			logs.mu.Lock()
			logs.lines = append(logs.lines, scanner.Text())
			close(logs.added)
			logs.added = make(chan struct{})
			logs.mu.Unlock()
		}
	}()
	var runErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		runErr = run(ctx, args, getenv, writer)
		writer.Close()
	}()
	var once sync.Once
	stop := func() error {
		once.Do(func() {
			cancel()
			<-done
			<-scanned
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	})

	s := &runningServer{logs: logs, stop: stop}
	listening := logs.waitFor(t, "routeguide-server listening", done)
	if listening == nil {
		t.Fatalf("run ended before listening: %v\n%s", stop(), strings.Join(logs.lines, "\n"))
	}
	s.addr = "http://" + listening["addr"].(string)
	// run logs the admin listener's address first, if it has one.
	for _, r := range logs.records() {
		if r["msg"] == "admin listening" {
			s.adminAddr = "http://" + r["addr"].(string)
		}
	}
	return s
}

// get fetches url over HTTP/1.1, as curl and Prometheus do, and returns the
// status code and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode, string(body)
}
