package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sample is the server's memory, threads and goroutines at one moment:
// the first three from /proc, the goroutines from the server's /metrics.
type sample struct {
	at         time.Duration // since sampling started
	rssKiB     int64         // VmRSS
	hwmKiB     int64         // VmHWM, the peak RSS so far
	threads    int
	goroutines int // -1 when the server's /metrics could not be read
}

// sampler reads /proc/PID/status every interval and prints each sample.
type sampler struct {
	pid        int
	metricsURL string // empty when the server has no admin listener
	start      time.Time
	done       chan struct{}
	wg         sync.WaitGroup

	mu      sync.Mutex // protects samples
	samples []sample
}

func startSampler(pid int, adminAddr string, interval time.Duration, out io.Writer) *sampler {
	s := &sampler{pid: pid, start: time.Now(), done: make(chan struct{})}
	if adminAddr != "" {
		s.metricsURL = "http://" + adminAddr + "/metrics"
	}
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
	sm.goroutines = s.goroutines()
	s.mu.Lock()
	s.samples = append(s.samples, sm)
	s.mu.Unlock()
	if out != nil {
		fmt.Fprintf(out, "  [%6v] server rss %s (peak %s), threads %d, goroutines %d\n",
			sm.at, mib(sm.rssKiB), mib(sm.hwmKiB), sm.threads, sm.goroutines)
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

// goroutines reads go_goroutines from the server's /metrics, or returns -1.
func (s *sampler) goroutines() int {
	if s.metricsURL == "" {
		return -1
	}
	client := http.Client{Timeout: 5 * time.Second}
	res, err := client.Get(s.metricsURL)
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	scanner := bufio.NewScanner(res.Body)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		if value, ok := strings.CutPrefix(scanner.Text(), "go_goroutines "); ok {
			if n, err := strconv.ParseFloat(value, 64); err == nil {
				return int(n)
			}
		}
	}
	return -1
}

// mib formats KiB as MiB.
func mib(kib int64) string {
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}
