package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// writeFeatures writes a JSON dataset of n named features at random points
// into dir, in the form routeguide-server --features reads, and returns its
// path.
func writeFeatures(dir string, n int) (string, error) {
	path := filepath.Join(dir, "features.json")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(uint64(n), 0))
	fmt.Fprint(w, "[")
	for i := range n {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(w, `%s{"name":"synthetic feature %d","location":{"latitude":%d,"longitude":%d}}`+"\n",
			sep, i, rng.Int32N(1_800_000_001)-900_000_000, rng.Int32N(2_000_000_001)-1_000_000_000)
	}
	fmt.Fprint(w, "]")
	if err := w.Flush(); err != nil {
		f.Close()
		return "", fmt.Errorf("write features: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write features: %w", err)
	}
	return path, nil
}
