//go:build unix

package main

// TestCtrlC is Unix's: it presses Ctrl-C as a terminal does, to a process
// group, and signals processes by pid.

import (
	"bufio"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/routeguide/routeguide/cluster"
	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// TestCtrlC runs routeguide-cluster as a person would, makes a call through
// it, kills a replica, which must come back, and presses Ctrl-C: the signal
// reaches the whole process group, as a terminal sends it. The command must
// exit 0 having stopped every process it started.
func TestCtrlC(t *testing.T) {
	t.Parallel()
	if _, err := cluster.FindHAProxy(); err != nil {
		t.Skipf("skipping: the cluster runs HAProxy: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "routeguide-cluster")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr, statsAddr := routeguidetest.FreePort(t), routeguidetest.FreePort(t)
	cmd := exec.Command(bin, "--addr", addr, "--stats-addr", statsAddr, "--idp-addr", "127.0.0.1:0", "--replicas", "2", "--restart-after", "100ms")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// A file, which the test can read while the command writes to it.
	stderrFile, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderrFile.Close()
	cmd.Stderr = stderrFile
	stderr := func() string {
		b, _ := os.ReadFile(stderrFile.Name())
		return string(b)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	// The table of processes, then the line that says where RouteGuide is.
	var pids []int
	pidOf := make(map[string]int)
	lines := make(chan string)
	go func() {
		defer close(lines)
		for scanner := bufio.NewScanner(stdout); scanner.Scan(); {
			lines <- scanner.Text()
		}
	}()
	timeout := time.After(3 * time.Minute) // the first build of nats-server is slow
	for ready := false; !ready; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("routeguide-cluster ended its output before it was ready: %s", stderr())
			}
			fields := strings.Fields(line)
			if len(fields) > 1 && fields[0] != "PROCESS" {
				if pid, err := strconv.Atoi(fields[1]); err == nil {
					pids = append(pids, pid)
					pidOf[fields[0]] = pid
				}
			}
			ready = strings.HasPrefix(line, "RouteGuide at http://"+addr)
		case <-timeout:
			t.Fatalf("routeguide-cluster not ready: %s", stderr())
		}
	}
	go func() {
		for range lines {
		}
	}()
	if len(pids) != 1+3+1+2+1 {
		t.Errorf("routeguide-cluster listed %d processes, want itself, three NATS nodes, the OpenID provider, two replicas and HAProxy", len(pids))
	}
	if pidOf["routeguide-cluster"] != cmd.Process.Pid {
		t.Errorf("routeguide-cluster listed itself as pid %d, want %d", pidOf["routeguide-cluster"], cmd.Process.Pid)
	}

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} // or HAProxy waits for it to stop
	res, err := client.Post("http://"+addr+"/grpc.health.v1.Health/Check", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("health check through HAProxy: %s", res.Status)
	}

	// Killed, and started again.
	if err := syscall.Kill(pidOf["routeguide-2"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); strings.Count(stderr(), "msg=ready process=routeguide-2 ") < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("routeguide-2 was not started again:\n%s", stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if pid := lastPID(stderr(), "routeguide-2"); pid != 0 {
		pids = append(pids, pid)
	}

	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Errorf("routeguide-cluster after Ctrl-C: %v\n%s", err, stderr())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("routeguide-cluster still running 30 s after Ctrl-C:\n%s", stderr())
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still there after routeguide-cluster exited (kill -0: %v)", pid, err)
		}
	}
	if !strings.Contains(stderr(), "stopping") {
		t.Errorf("routeguide-cluster did not say it was stopping:\n%s", stderr())
	}
}

// lastPID returns the pid that the last "ready" line of the command's log
// gives the process.
func lastPID(log, process string) int {
	pid := 0
	for line := range strings.Lines(log) {
		if !strings.Contains(line, "msg=ready process="+process+" ") {
			continue
		}
		for field := range strings.FieldsSeq(line) {
			if n, ok := strings.CutPrefix(field, "pid="); ok {
				pid, _ = strconv.Atoi(n)
			}
		}
	}
	return pid
}
