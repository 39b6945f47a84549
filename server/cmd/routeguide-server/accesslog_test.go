package main

import (
	"sync"
	"testing"
)

// TestAccessLogKeptAtShutdown checks that every call made before the
// server stops has its access record in the log once run returns, though
// records are written in batches off the request path.
func TestAccessLogKeptAtShutdown(t *testing.T) {
	t.Parallel()
	s := startRun(t, []string{"--addr", "127.0.0.1:0", "--log-format", "json"}, nil)
	c := newRPCClient(t, s.addr)
	const calls = 300
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range calls / 6 {
				if _, err := c.GetFeature(t.Context(), patriotsPath); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	records := 0
	for _, r := range s.logs.records() {
		if r["msg"] == "rpc" && r["procedure"] == "/routeguide.RouteGuide/GetFeature" {
			records++
		}
	}
	if records != calls {
		t.Errorf("%d access records after shutdown, want %d", records, calls)
	}
}
