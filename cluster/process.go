package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// stopTimeout is how long a process has to exit after SIGTERM before it is
// killed. A replica ends its streams at once and gives unary calls up to its
// own --shutdown-timeout (10 s by default): a little longer than that.
const stopTimeout = 15 * time.Second

// Process is one program of a cluster: a NATS node, a RouteGuide replica or
// HAProxy. It can be killed and started again with the same arguments,
// ports and storage, which is how tests and operators play failures.
type Process struct {
	name    string
	addr    string
	monitor string
	path    string
	args    []string
	log     string // file that collects stdout and stderr, appended across restarts
	ready   func(context.Context) error
	// stopSignal asks the process to exit; the default is SIGTERM.
	stopSignal syscall.Signal

	logger *slog.Logger

	mu   sync.Mutex // protects cmd and done
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Name returns the process's name, such as "nats-1" or "routeguide-2".
func (p *Process) Name() string { return p.name }

// Addr returns the address the process serves clients on, host:port.
func (p *Process) Addr() string { return p.addr }

// MonitorAddr returns the address of the process's HTTP endpoint for
// operators, host:port: a NATS node's monitoring (/healthz, /jsz), a
// replica's admin listener (/metrics), HAProxy's statistics page.
func (p *Process) MonitorAddr() string { return p.monitor }

// LogFile returns the file that collects what the process writes.
func (p *Process) LogFile() string { return p.log }

// PID returns the process id, or 0 when the process is not running.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || isClosed(p.done) {
		return 0
	}
	return p.cmd.Process.Pid
}

// Exited returns a channel that is closed when the process exits: the run
// started last, or, before any start, at once.
func (p *Process) Exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		closed := make(chan struct{})
		close(closed)
		return closed
	}
	return p.done
}

// Start starts the process and waits until it is ready to serve, or ctx is
// done, or it exits. Starting a process that is running is an error.
func (p *Process) Start(ctx context.Context) error {
	p.mu.Lock()
	if p.cmd != nil && !isClosed(p.done) {
		p.mu.Unlock()
		return fmt.Errorf("start %s: already running", p.name)
	}
	// Another program on one of the ports would answer the readiness
	// check in this one's place; better to say so at once.
	if err := CheckPorts(p.addr, p.monitor); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	logFile, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	// Not exec.CommandContext: the process must outlive the context that
	// bounds its start.
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		p.mu.Unlock()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	started := time.Now()
	go func() {
		// The exit status is in cmd.ProcessState, which says it better
		// than the error.
		_ = cmd.Wait()
		logFile.Close()
		p.logger.Info("exited", "process", p.name, "pid", cmd.Process.Pid, "status", cmd.ProcessState.String())
		close(done)
	}()

	readyCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-done:
			cancel()
		case <-readyCtx.Done():
		}
	}()
	if err := p.ready(readyCtx); err != nil {
		if isClosed(done) {
			// Taken by another program since the check above, as its
			// log will say in words of its own.
			if taken := CheckPorts(p.addr, p.monitor); taken != nil {
				return fmt.Errorf("%s exited at start (%s): %w: %s", p.name, cmd.ProcessState, taken, p.tail())
			}
			return fmt.Errorf("%s exited at start (%s): %s", p.name, cmd.ProcessState, p.tail())
		}
		return fmt.Errorf("%s not ready: %w", p.name, err)
	}
	if err := p.servesItself(cmd.Process.Pid); err != nil {
		return err
	}
	p.logger.Info("ready", "process", p.name, "pid", cmd.Process.Pid, "addr", p.addr,
		"after", time.Since(started).Round(time.Millisecond))
	return nil
}

// servesItself returns an error wrapping [ErrPortTaken] if the process pid
// does not listen on its address where it can be known: the port was free
// when the cluster chose it, but another program can take it before this
// one binds it, and then answers its readiness check for it (seen when
// tests that start servers ran beside a cluster's start).
func (p *Process) servesItself(pid int) error {
	_, port, err := net.SplitHostPort(p.addr)
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	if held, known := heldBy(port, pid); known && !held {
		return fmt.Errorf("%s (pid %d) did not get its address: %w: %s %s", p.name, pid, ErrPortTaken, p.addr, portHolder(port))
	}
	return nil
}

// Kill ends the process with SIGKILL, as a crash or the kernel's OOM killer
// would, and waits for it to exit. Killing a process that is not running
// does nothing.
func (p *Process) Kill() {
	p.signal(syscall.SIGKILL)
	p.wait(context.Background())
}

// Stop asks the process to exit, with SIGTERM (which drains a replica) or
// HAProxy's SIGUSR1, and kills it if it has not exited when ctx is done or
// after 15 seconds.
func (p *Process) Stop(ctx context.Context) {
	sig := p.stopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	p.signal(sig)
	ctx, cancel := context.WithTimeout(ctx, stopTimeout)
	defer cancel()
	if !p.wait(ctx) {
		p.logger.Warn("killed after the stop timeout", "process", p.name)
		p.Kill()
	}
}

func (p *Process) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !isClosed(p.done) {
		// An error means it has just exited, which is what was wanted.
		_ = signalProcess(p.cmd.Process, sig)
	}
}

// wait reports whether the process has exited before ctx is done.
func (p *Process) wait(ctx context.Context) bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// tail returns the last lines the process wrote, for an error message.
func (p *Process) tail() string {
	const max = 2048
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(bytes.TrimSpace(b))
}

// WriteLogTail writes the last lines of the process's log to w, under its
// name; tests call it on failure.
func (p *Process) WriteLogTail(w io.Writer) {
	fmt.Fprintf(w, "--- %s (%s)\n%s\n", p.name, p.log, p.tail())
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
