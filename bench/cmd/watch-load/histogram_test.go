package main

import (
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	t.Parallel()
	var h histogram
	if got := h.quantile(0.5); got != 0 {
		t.Errorf("empty: got %v, want 0", got)
	}
	// 1 ms to 100 ms, one sample each: p50 is 50 ms and p99 99 ms, within
	// the buckets' 2%.
	for i := 1; i <= 100; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		got := h.quantile(tc.q)
		if got < tc.want || float64(got) > float64(tc.want)*histGrowth {
			t.Errorf("quantile %v: got %v, want %v to %v", tc.q, got, tc.want, time.Duration(float64(tc.want)*histGrowth))
		}
	}
	if got, want := h.count(), int64(100); got != want {
		t.Errorf("count: got %d, want %d", got, want)
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	if _, err := parseCounts("1000,x"); err == nil {
		t.Error(`parseCounts("1000,x"): no error`)
	}
	counts, err := parseCounts("1000, 10000")
	if err != nil || len(counts) != 2 || counts[0] != 1000 || counts[1] != 10000 {
		t.Errorf(`parseCounts("1000, 10000"): got %v, %v`, counts, err)
	}
	area, err := parseArea("400000000,-750000000,420000000,-730000000")
	if err != nil || area.Lo.Latitude != 400000000 || area.Hi.Longitude != -730000000 {
		t.Errorf("parseArea: got %v, %v", area, err)
	}
	if _, err := parseArea("1,2,3"); err == nil {
		t.Error(`parseArea("1,2,3"): no error`)
	}
}
