package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sample is the server's memory and threads at one moment. The server has
// no debug endpoint, so goroutines cannot be counted from outside: threads
// are what /proc tells.
type sample struct {
	at      time.Duration // since sampling started
	rssKiB  int64         // VmRSS
	hwmKiB  int64         // VmHWM, the peak RSS so far
	threads int
}

// sampler reads /proc/PID/status every interval and prints each sample.
type sampler struct {
	pid   int
	start time.Time
	done  chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex // protects samples
	samples []sample
}

func startSampler(pid int, interval time.Duration, out io.Writer) *sampler {
	s := &sampler{pid: pid, start: time.Now(), done: make(chan struct{})}
	s.wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		s.take(out)
		for {
			select {
			case <-s.done:
				return
			case <-tick.C:
				s.take(out)
			}
		}
	})
	return s
}

// take records and prints one sample, if the process is still there.
func (s *sampler) take(out io.Writer) (sample, bool) {
	sm, err := readStatus(s.pid)
	if err != nil {
		return sample{}, false
	}
	sm.at = time.Since(s.start).Round(time.Second)
	s.mu.Lock()
	s.samples = append(s.samples, sm)
	s.mu.Unlock()
	if out != nil {
		fmt.Fprintf(out, "  [%6v] server rss %s (peak %s), threads %d\n", sm.at, mib(sm.rssKiB), mib(sm.hwmKiB), sm.threads)
	}
	return sm, true
}

// now takes a sample outside the schedule without printing it.
func (s *sampler) now() sample {
	sm, _ := s.take(nil)
	return sm
}

func (s *sampler) stop() {
	close(s.done)
	s.wg.Wait()
}

// all returns the samples taken so far.
func (s *sampler) all() []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.samples)
}

// peak returns the highest RSS the kernel saw, from the last sample's VmHWM.
func (s *sampler) peak() int64 {
	all := s.all()
	var peak int64
	for _, sm := range all {
		peak = max(peak, sm.hwmKiB, sm.rssKiB)
	}
	return peak
}

func readStatus(pid int) (sample, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return sample{}, err
	}
	defer f.Close()
	var sm sample
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		key, value, ok := strings.Cut(scanner.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch key {
		case "VmRSS":
			sm.rssKiB = n
		case "VmHWM":
			sm.hwmKiB = n
		case "Threads":
			sm.threads = int(n)
		}
	}
	if sm.rssKiB == 0 {
		return sample{}, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return sm, scanner.Err()
}

// mib formats KiB as MiB.
func mib(kib int64) string {
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}
