package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/routeguide/routeguide/internal/synthetic"
)

type bench struct {
	o        options
	bins     binaries
	work     string
	log      io.Writer
	datasets map[int]string
}

// dataset writes the synthetic dataset of n features once and returns its
// file.
func (b *bench) dataset(n int) (string, error) {
	if path, ok := b.datasets[n]; ok {
		return path, nil
	}
	path := filepath.Join(b.work, fmt.Sprintf("features-%d.json", n))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := synthetic.WriteJSON(f, synthetic.Features(n, 1)); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	b.datasets[n] = path
	return path, nil
}

// servers starts ours, the reference and, if ceiling, the ceiling server
// with and without batched writes, over the dataset of n features, in that
// order. The caller must stop them.
func (b *bench) servers(ctx context.Context, n int, ceiling bool) ([]*process, error) {
	path, err := b.dataset(n)
	if err != nil {
		return nil, err
	}
	var procs []*process
	for _, s := range []struct {
		name, bin string
		args      []string
	}{
		{"ceiling", "ceiling-server", nil},
		{"ceiling-batched", "ceiling-server", []string{"-batch"}},
		{"reference", "reference-server", nil},
		// The load is one client's notes by the thousand: a write budget
		// would measure the refusals, and the servers compared have none.
		{"routeguide", "routeguide-server", []string{"--write-burst", "1000000000", "--write-rate", "1000000000"}},
	} {
		if strings.HasPrefix(s.name, "ceiling") && !ceiling {
			continue
		}
		p, err := start(ctx, s.name, b.bins.path(s.bin), append([]string{"--features", path}, s.args...)...)
		if err != nil {
			stopAll(procs)
			return nil, err
		}
		procs = append(procs, p)
	}
	return procs, nil
}

func stopAll(procs []*process) {
	for _, p := range procs {
		p.stop()
	}
}

// repeat measures one workload o.runs times, after a warm-up run, and
// records the samples under name.
func (b *bench) repeat(r *report, table, name string, p *process, load func() (float64, sample, error)) error {
	fmt.Fprintf(b.log, "%s: %s\n", table, name)
	if _, _, err := load(); err != nil { // warm-up
		return fmt.Errorf("%s, %s: %w", table, name, err)
	}
	for range b.o.runs {
		s, err := measure(p, load)
		if err != nil {
			return fmt.Errorf("%s, %s: %w", table, name, err)
		}
		r.add(table, name, s)
	}
	return nil
}
