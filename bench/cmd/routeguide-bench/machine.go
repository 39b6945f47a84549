package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// machine describes the computer the figures come from.
func machine() string {
	// runtime.NumCPU counts only the CPU the harness is pinned to.
	model, cpus := "unknown CPU", 0
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				cpus++
			}
		}
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	h2load, _ := exec.Command("h2load", "--version").Output()
	return fmt.Sprintf("%s, %d CPUs, %s, %s, %s", model, cpus, strings.TrimSpace(string(kernel)),
		runtime.Version(), strings.TrimSpace(string(h2load)))
}
