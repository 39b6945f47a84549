package main

import (
	"math"
	"sync/atomic"
	"time"
)

// histogram counts durations in buckets 2% wide from 1 µs to about 10 min,
// so that many goroutines can record millions of samples without a lock
// and quantiles come out within 2%.
type histogram struct {
	counts [histBuckets]atomic.Int64
}

const (
	histGrowth  = 1.02
	histBuckets = 1400 // 1.02^1400 µs is far past any bounded run
)

var histLogGrowth = math.Log(histGrowth)

func (h *histogram) record(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	i := 0
	if us > 1 {
		i = min(int(math.Log(us)/histLogGrowth), histBuckets-1)
	}
	h.counts[i].Add(1)
}

// count returns the samples recorded.
func (h *histogram) count() int64 {
	var n int64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// quantile returns the upper edge of the bucket holding quantile q of the
// samples, or 0 if there are none.
func (h *histogram) quantile(q float64) time.Duration {
	total := h.count()
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(math.Pow(histGrowth, float64(i+1)) * float64(time.Microsecond))
		}
	}
	return 0
}
