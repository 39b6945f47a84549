//go:build unix

package notes_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/routeguide/routeguide/cluster"
	"github.com/routeguide/routeguide/server/notes"
)

// natsProcess runs the nats-server pinned in tools/go.mod as a child
// process, with JetStream, on a loopback port it picks, and returns its
// URL and process: a test can stop it with SIGSTOP, which an in-process
// server cannot be.
func natsProcess(t *testing.T) (string, *os.Process) {
	t.Helper()
	dir := t.TempDir()
	nats, err := cluster.BuildNATS(t.Context(), "../..", dir)
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
	eventually(t, 20*time.Second, "listening", func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "*.ports"))
		if len(files) == 0 {
			return false
		}
		data, err := os.ReadFile(files[0])
		return err == nil && json.Unmarshal(data, &ports) == nil && len(ports.Nats) > 0
	})
	return ports.Nats[0], cmd.Process
}

// TestJetStreamHungNATSIsNoticedAndRecovers stops nats-server with SIGSTOP
// under an open store: the connection stays up, but within 5 s the store
// says it is unavailable, cuts its watchers off saying where to resume, and
// fails notes at once; after SIGCONT it comes back by itself, with every
// acknowledged note.
func TestJetStreamHungNATSIsNoticedAndRecovers(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for seconds-long probes")
	}
	url, proc := natsProcess(t)
	s := openJetStreamFast(t, url, func(c *notes.JetStreamConfig) {
		// The defaults: what the 5 s promise rests on.
		c.ProbeInterval, c.ProbeTimeout = 0, 0
	})
	add(t, s, note(2, 2, "before"))
	w, err := s.Watch(t.Context(), notes.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	add(t, s, note(2, 2, "seen"))
	seen := next(t, w)

	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	eventually(t, 5*time.Second, "unavailable", func() bool { return errors.Is(s.Available(), notes.ErrUnavailable) })
	t.Logf("noticed a stopped NATS in %v", time.Since(stopped).Round(time.Millisecond))
	_, err = w.Next(t.Context())
	var resume *notes.ResumeError
	if !errors.As(err, &resume) || !errors.Is(err, notes.ErrUnavailable) || resume.After != seen.Seq {
		t.Errorf("watcher got %v, want ErrUnavailable saying to resume after %d", err, seen.Seq)
	}
	start := time.Now()
	if _, err := s.Add(t.Context(), note(2, 2, "refused"), notes.Author{}); !errors.Is(err, notes.ErrUnavailable) {
		t.Errorf("Add = %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Add took %v to fail, want at once", took)
	}
	if _, err := s.Watch(t.Context(), notes.WatchOptions{}); !errors.Is(err, notes.ErrUnavailable) {
		t.Errorf("Watch = %v, want ErrUnavailable", err)
	}

	if err := proc.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "available again", func() bool { return s.Available() == nil })
	again, err := s.Watch(t.Context(), notes.WatchOptions{After: &resume.After, Epoch: resume.Epoch})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	got := add(t, s, note(2, 2, "after"))
	if !slices.Equal(got, []string{"before", "seen", "after"}) && !slices.Equal(got, []string{"before", "seen", "refused", "after"}) {
		t.Errorf("after NATS came back, the location holds %q", got)
	}
	for {
		ev := next(t, again)
		if m := ev.Note.GetMessage(); m == "after" {
			break
		} else if m != "refused" { // stored, perhaps, before its call failed
			t.Errorf("resumed watcher got %q", m)
		}
	}
}
