package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// ghzResult is the part of ghz's JSON report the harness reads.
type ghzResult struct {
	Count               float64 `json:"count"`
	RPS                 float64 `json:"rps"`
	LatencyDistribution []struct {
		Percentage int           `json:"percentage"`
		Latency    time.Duration `json:"latency"`
	} `json:"latencyDistribution"`
	ErrorDistribution map[string]int `json:"errorDistribution"`
}

// runGhz drives GetFeature with ghz, grpc-go's own client: the gRPC user's
// view.
func runGhz(ctx context.Context, ghz, protoDir, addr string, p *routeguide.Point, workers int, d time.Duration) (float64, sample, error) {
	data, err := json.Marshal(map[string]int32{"latitude": p.GetLatitude(), "longitude": p.GetLongitude()})
	if err != nil {
		return 0, sample{}, err
	}
	out, err := exec.CommandContext(ctx, ghz, "--insecure",
		"--proto", filepath.Join(protoDir, "routeguide", "route_guide.proto"), "--import-paths", protoDir,
		"--call", "routeguide.RouteGuide.GetFeature", "-d", string(data),
		"-c", strconv.Itoa(workers), "--connections", "1", "-z", d.String(), "-O", "json", addr).Output()
	if err != nil {
		return 0, sample{}, fmt.Errorf("ghz: %w\n%s", err, out)
	}
	var r ghzResult
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, sample{}, fmt.Errorf("ghz output: %w", err)
	}
	// Calls in flight when the time is up are cancelled by ghz itself,
	// about one a worker; anything else is a real failure. ghz can report
	// one call under both of its closing errors (65 with 64 workers was
	// seen), so allow twice as many.
	cut := 0
	for e, count := range r.ErrorDistribution {
		if !strings.Contains(e, "is closing") {
			return 0, sample{}, fmt.Errorf("ghz: errors %v", r.ErrorDistribution)
		}
		cut += count
	}
	if cut > 2*workers {
		return 0, sample{}, fmt.Errorf("ghz: errors %v", r.ErrorDistribution)
	}
	s := sample{rate: r.RPS}
	for _, l := range r.LatencyDistribution {
		switch l.Percentage {
		case 50:
			s.p50 = l.Latency
		case 99:
			s.p99 = l.Latency
		}
	}
	return r.Count, s, nil
}
