package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serverModule is the module whose server the tool builds.
const serverModule = "github.com/routeguide/routeguide"

// buildServer builds routeguide-server from the module in repo, or the
// first directory above the working directory that holds it, into dir.
func buildServer(ctx context.Context, repo, dir string, race bool) (string, error) {
	if repo == "" {
		var err error
		if repo, err = findModule(); err != nil {
			return "", err
		}
	}
	bin := filepath.Join(dir, "routeguide-server")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "./server/cmd/routeguide-server")...)
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build routeguide-server: %w\n%s", err, out)
	}
	return bin, nil
}

func findModule() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module "+serverModule+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s module above the working directory: give --repo or --server-bin", serverModule)
		}
		dir = parent
	}
}

// serverProcess is a routeguide-server the tool started.
type serverProcess struct {
	cmd       *exec.Cmd
	addr      string
	adminAddr string // where its /metrics are, for the goroutine count

	exited chan struct{} // closed once the process has been waited for
	err    error         // the process's exit, once exited is closed

	mu       sync.Mutex // protects the counts below
	races    int        // "DATA RACE" reports in its log
	panics   int        // lines of its log that report a panic
	warnings []string   // its log lines at level WARN or ERROR, the first few
	logDone  chan struct{}
}

var (
	listeningLine      = regexp.MustCompile(`msg="routeguide-server listening" addr=(\S+)`)
	adminListeningLine = regexp.MustCompile(`msg="admin listening" addr=(\S+)`)
)

// startServer runs bin on 127.0.0.1:0 and waits for the line that gives its
// address. The process is not tied to ctx: call terminate to stop it.
func startServer(ctx context.Context, bin string, args []string, log io.Writer) (*serverProcess, error) {
	// The admin listener's /metrics give the goroutine count.
	cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, args...)...)
	// The soak is one client's notes by the thousand: a write budget would
	// refuse them. By the environment, which a server from before budgets
	// ignores, where it would refuse an unknown flag.
	cmd.Env = append(os.Environ(), "ROUTEGUIDE_WRITE_BURST=1000000000", "ROUTEGUIDE_WRITE_RATE=1000000000")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start routeguide-server: %w", err)
	}
	p := &serverProcess{cmd: cmd, exited: make(chan struct{}), logDone: make(chan struct{})}
	addr := make(chan string, 1)
	go p.readLog(stderr, log, addr)
	go func() {
		<-p.logDone // Wait closes the pipe: read it all first
		p.err = cmd.Wait()
		close(p.exited)
	}()
	select {
	case a, ok := <-addr:
		if ok {
			p.addr = a
			return p, nil
		}
		<-p.exited
		return nil, fmt.Errorf("routeguide-server exited before listening: %v", p.err)
	case <-ctx.Done():
		p.terminate(5 * time.Second)
		return nil, ctx.Err()
	case <-time.After(time.Minute):
		p.terminate(5 * time.Second)
		return nil, errors.New("routeguide-server did not say where it listens within a minute")
	}
}

// readLog copies the server's log to log, picks its address out and counts
// what must not be there.
func (p *serverProcess) readLog(r io.Reader, log io.Writer, addr chan<- string) {
	defer close(p.logDone)
	found := false
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		fmt.Fprintln(log, "server:", line)
		if m := adminListeningLine.FindStringSubmatch(line); m != nil {
			p.mu.Lock()
			p.adminAddr = m[1]
			p.mu.Unlock()
		}
		if !found {
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				found = true
				addr <- m[1]
			}
		}
		p.mu.Lock()
		switch {
		case strings.Contains(line, "WARNING: DATA RACE"):
			p.races++
		case strings.HasPrefix(line, "panic:") || strings.Contains(line, "rpc handler panicked"):
			p.panics++
		case strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR"):
			if len(p.warnings) < 5 {
				p.warnings = append(p.warnings, line)
			}
		}
		p.mu.Unlock()
	}
	if !found {
		close(addr)
	}
	// Keep the pipe drained if the scanner gave up on a long line.
	_, _ = io.Copy(io.Discard, r)
}

// signal sends SIGTERM, which makes the server drain and shut down.
func (p *serverProcess) sigterm() error {
	return p.cmd.Process.Signal(syscall.SIGTERM)
}

// terminate sends SIGTERM, waits up to grace for the process to exit and
// kills it if it has not, then returns how it exited.
func (p *serverProcess) terminate(grace time.Duration) error {
	select {
	case <-p.exited:
		return p.err
	default:
	}
	_ = p.sigterm()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("did not exit within %v of SIGTERM and was killed", grace)
	}
}

// verdict prints how the server ended and returns errViolation if it logged
// a race or a panic or did not exit cleanly.
func (p *serverProcess) verdict(stdout io.Writer, exit error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	exitText := "0"
	if exit != nil {
		exitText = exit.Error()
	}
	fmt.Fprintf(stdout, "server exit: %s; data races logged: %d; panics logged: %d\n", exitText, p.races, p.panics)
	for _, w := range p.warnings {
		fmt.Fprintf(stdout, "server warned: %s\n", w)
	}
	if exit != nil || p.races > 0 || p.panics > 0 {
		return errViolation
	}
	return nil
}
