package dataset

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/routeguide/routeguide/internal/synthetic"
)

var benchmarkSizes = []int{100, 10_000, 1_000_000}

// BenchmarkParseFeatures measures loading a dataset from JSON.
func BenchmarkParseFeatures(b *testing.B) {
	for _, n := range benchmarkSizes {
		var data bytes.Buffer
		if err := synthetic.WriteJSON(&data, synthetic.Features(n, 1)); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.SetBytes(int64(data.Len()))
			for b.Loop() {
				if _, err := Parse(data.Bytes()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
