package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// serverCPU and loadCPU are the cores the servers and the load generators
// are pinned to, so that neither steals time from the other.
const (
	loadCPU   = "0"
	serverCPU = "1"
)

// pinnedEnv marks the harness as already running on loadCPU.
const pinnedEnv = "ROUTEGUIDE_BENCH_PINNED"

// pinSelf runs the harness again under taskset on loadCPU, so that its Go
// load generators and the h2load and ghz it starts all share that core. It
// returns false if this process is the pinned one and should go on.
func pinSelf(ctx context.Context, args []string) (bool, error) {
	if os.Getenv(pinnedEnv) != "" {
		return false, nil
	}
	self, err := os.Executable()
	if err != nil {
		return false, err
	}
	cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", loadCPU, self}, args...)...)
	cmd.Env = append(os.Environ(), pinnedEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return true, cmd.Run()
}

// binaries are the programs a run needs, built into one directory.
type binaries struct {
	dir string
}

func (b binaries) path(name string) string { return filepath.Join(b.dir, name) }

// build compiles the servers under test and ghz. The others build in the
// bench module, whose go.mod pins ghz and points at the repository with
// replace; routeguide-server builds in the repository's own module, with
// the dependencies it ships with, which the bench module need not list.
func build(ctx context.Context, dir string) (binaries, error) {
	root, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/routeguide/routeguide").Output()
	if err != nil {
		return binaries{}, fmt.Errorf("find the repository: %w", err)
	}
	targets := map[string]struct{ pkg, dir string }{
		"routeguide-server": {"./server/cmd/routeguide-server", strings.TrimSpace(string(root))},
		"reference-server":  {"github.com/routeguide/routeguide/bench/cmd/reference-server", ""},
		"ceiling-server":    {"github.com/routeguide/routeguide/bench/cmd/ceiling-server", ""},
		"ghz":               {"github.com/bojand/ghz/cmd/ghz", ""},
	}
	for name, t := range targets {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, name), t.pkg)
		cmd.Dir = t.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return binaries{}, fmt.Errorf("build %s: %w\n%s", name, err, out)
		}
	}
	return binaries{dir: dir}, nil
}

// process is a server under test, pinned to serverCPU.
type process struct {
	name string
	addr string
	cmd  *exec.Cmd
	out  *os.File // the server's output
	done chan error
}

// start runs bin with args and --addr on a free loopback port, and waits
// until it accepts connections; loading a large dataset can take seconds.
func start(ctx context.Context, name, bin string, args ...string) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args = append([]string{"-c", serverCPU, bin, "--addr", addr}, args...)
	// The server writes its output, such as routeguide-server's record of
	// every call, straight to a file: through a pipe, the harness would
	// copy it on the load generators' core.
	out, err := os.CreateTemp("", "routeguide-bench-"+name+"-*.log")
	if err != nil {
		return nil, err
	}
	os.Remove(out.Name()) // the open file stays readable
	p := &process{name: name, addr: addr, out: out, done: make(chan error, 1)}
	p.cmd = exec.Command("taskset", args...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	go func() { p.done <- p.cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return p, nil
		}
		select {
		case err := <-p.done:
			return nil, fmt.Errorf("%s exited: %v\n%s", name, err, p.output())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not start listening on %s", name, addr)
		}
	}
}

func (p *process) url() string { return "http://" + p.addr }

// stop ends the server, first asking it to shut down.
func (p *process) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	p.out.Close()
}

// cpuTime returns the CPU time the server has used so far.
func (p *process) cpuTime() (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces; fields count
	// from after it. utime and stime are fields 14 and 15 of the line.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 13 {
		return 0, errors.New("short /proc stat line")
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, nil
}

// writeCalls returns the write system calls the server has made so far
// (syscw in /proc/PID/io): what batched writes are for.
func (p *process) writeCalls() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "syscw:"); ok {
			return strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
		}
	}
	return 0, errors.New("no syscw in /proc io")
}

// rss returns the server's resident memory in bytes.
func (p *process) rss() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// output returns what the server has written so far.
func (p *process) output() string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d", p.out.Fd()))
	if err != nil {
		return fmt.Sprintf("(output unreadable: %v)", err)
	}
	return string(data)
}
