package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// server is the server under load: one this tool started, or one named by
// -addr and -pid.
type server struct {
	name string
	addr string
	pid  int       // 0: unknown, no CPU or memory figures
	cmd  *exec.Cmd // nil if the server is not ours
	out  *os.File
	done chan error
}

// startServer runs command (a program and its arguments) with --addr on a
// free loopback port, under taskset -c cpu unless cpu is empty, and waits
// until it accepts connections. Its output goes to a file that is removed
// at once, so that nothing of the load copies it. The caller should call
// stop when finished.
func startServer(ctx context.Context, name string, command []string, cpu string) (*server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	args := append(append([]string{}, command[1:]...), "--addr", addr)
	bin := command[0]
	if cpu != "" {
		// taskset executes the server in its own process, so the PID is
		// the server's.
		args = append([]string{"-c", cpu, bin}, args...)
		bin = "taskset"
	}
	out, err := os.CreateTemp("", "watch-load-"+name+"-*.log")
	if err != nil {
		return nil, err
	}
	os.Remove(out.Name())
	s := &server{name: name, addr: addr, out: out, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s.pid = s.cmd.Process.Pid
	go func() { s.done <- s.cmd.Wait() }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(time.Minute)
	for {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return s, nil
		}
		select {
		case err := <-s.done:
			s.done <- err
			return nil, fmt.Errorf("%s exited: %v\n%s", name, err, s.output())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-giveUp:
			s.stop()
			return nil, fmt.Errorf("%s did not listen on %s within a minute", name, addr)
		case <-tick.C:
		}
	}
}

// stop interrupts the server if it is ours, and kills it if it has not
// ended 10 s later.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.out.Close()
}

func (s *server) output() string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d", s.out.Fd()))
	if err != nil {
		return fmt.Sprintf("(output unreadable: %v)", err)
	}
	return string(data)
}

// cpuTime returns the CPU time, user and system, the server has used.
func (s *server) cpuTime() (time.Duration, error) {
	if s.pid == 0 {
		return 0, errors.New("no server pid")
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after it, where utime and stime are the 12th and 13th.
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

// rss returns the server's resident memory in bytes.
func (s *server) rss() (int64, error) {
	if s.pid == 0 {
		return 0, errors.New("no server pid")
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
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

// settledRSS waits until the server's resident memory stops moving (two
// readings 500 ms apart within 1% of each other), at most limit, and
// returns the last reading: opening thousands of streams leaves the server
// writing and collecting for a while.
func (s *server) settledRSS(ctx context.Context, limit time.Duration) (int64, error) {
	last, err := s.rss()
	if err != nil {
		return 0, err
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(limit)
	for {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-giveUp:
			return last, nil
		case <-tick.C:
		}
		now, err := s.rss()
		if err != nil {
			return 0, err
		}
		if d := now - last; d*100 <= last && -d*100 <= last {
			return now, nil
		}
		last = now
	}
}

// runQueueWait returns how long the server's threads have waited for a CPU
// while runnable (the second field of each /proc/PID/task/TID/schedstat):
// on a shared machine, the time the server wanted to run and could not.
func (s *server) runQueueWait() (time.Duration, error) {
	if s.pid == 0 {
		return 0, errors.New("no server pid")
	}
	return runQueueWait(s.pid)
}

func runQueueWait(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, task := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread ended
		}
		if err != nil {
			return 0, err
		}
		fields := strings.Fields(string(data))
		if len(fields) < 2 {
			return 0, errors.New("short schedstat line")
		}
		ns, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return 0, err
		}
		total += time.Duration(ns)
	}
	return total, nil
}

// selfCPU returns the CPU time this process has used.
func selfCPU() (time.Duration, error) {
	return (&server{pid: os.Getpid()}).cpuTime()
}
