package features

import (
	"fmt"
	"testing"

	"github.com/routeguide/routeguide/internal/synthetic"
	"github.com/routeguide/routeguide/server/geo"
)

// benchmarkSizes are the dataset sizes of the scale sweep in BENCHMARKS.md.
var benchmarkSizes = []int{100, 10_000, 1_000_000}

// BenchmarkFeatureIndex measures the lookups behind GetFeature and
// RecordRoute (at) and ListFeatures (within, a rectangle holding about 100
// features) as the dataset grows; their cost should stay flat.
func BenchmarkFeatureIndex(b *testing.B) {
	for _, n := range benchmarkSizes {
		features := synthetic.Features(n, 1)
		index := mustIndex(b, features)
		hit := geo.PointOf(features[n/2].GetLocation())
		rect := geo.BoundsOf(synthetic.Rectangle(n, 100))
		b.Run(fmt.Sprintf("at/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, ok := index.At(hit); !ok {
					b.Fatal("no feature at a dataset geo.Point")
				}
			}
		})
		b.Run(fmt.Sprintf("within/n=%d", n), func(b *testing.B) {
			found := 0
			for b.Loop() {
				for range index.Within(rect) {
					found++
				}
			}
			b.ReportMetric(float64(found)/float64(b.N), "features/op")
		})
	}
}

// BenchmarkNewFeatureIndex measures building the index, which a server does
// once at start.
func BenchmarkNewFeatureIndex(b *testing.B) {
	for _, n := range benchmarkSizes {
		features := synthetic.Features(n, 1)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				mustIndex(b, features)
			}
		})
	}
}
