// Command featuregen writes a synthetic RouteGuide dataset of any size as a
// JSON array, the form routeguide-server --features reads. The same -n and
// -seed always give the same file, so anyone can reproduce the large-data
// figures in BENCHMARKS.md:
//
//	go run ./cmd/featuregen -n 1000000 -o features-1m.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/routeguide/routeguide/internal/synthetic"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "featuregen:", err)
		os.Exit(1)
	}
}

func run(_ context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("featuregen", flag.ContinueOnError)
	flags.SetOutput(stderr)
	n := flags.Int("n", 1000, "number of features")
	seed := flags.Uint64("seed", 1, "random seed")
	out := flags.String("o", "", "output `file` (default: standard output)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	if *n < 0 {
		return fmt.Errorf("-n %d: want 0 or more", *n)
	}
	return writeFeatures(*out, stdout, *n, *seed)
}

func writeFeatures(path string, stdout io.Writer, n int, seed uint64) (err error) {
	w := stdout
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	return synthetic.WriteJSON(w, synthetic.Features(n, seed))
}
