package main

import (
	"flag"
	"io"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/routeguide/routeguide/server/limits"
)

// TestEveryLimitFlagIsChecked checks that each limit flag names its field
// for checkLimits, so that none can be switched off with zero: the flags
// addLimitFlags adds are those of limitFlags, and each refuses 0.
func TestEveryLimitFlagIsChecked(t *testing.T) {
	t.Parallel()
	flags := flag.NewFlagSet("limits", flag.ContinueOnError)
	addLimitFlags(flags, new(limits.Limits))
	var added []string
	flags.VisitAll(func(f *flag.Flag) { added = append(added, f.Name) })
	var named []string
	for _, f := range limitFlags {
		named = append(named, f.name)
	}
	slices.Sort(named)
	if diff := cmp.Diff(added, named); diff != "" {
		t.Errorf("limit flags (-added +limitFlags):\n%s", diff)
	}
	for _, name := range named {
		_, err := parseConfig([]string{"--" + name + "=0"}, noEnv, io.Discard)
		if got, want := errorText(err), "--"+name+" must be positive"; got != want {
			t.Errorf("--%s=0: %q, want %q", name, got, want)
		}
	}
}

func errorText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
