package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDefaultAddr keeps the default address at the tutorial's, which the
// canonical RouteGuide clients of every language dial when given none.
func TestDefaultAddr(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	if err := run(t.Context(), []string{"-h"}, noEnv, &stderr); err != nil {
		t.Fatalf("run -h: %v", err)
	}
	usage := stderr.String()
	_, addr, found := strings.Cut(usage, "-addr ")
	if !found {
		t.Fatalf("usage has no -addr flag:\n%s", usage)
	}
	// The flag's own lines end where the next flag begins.
	addr, _, _ = strings.Cut(addr, "\n  -")
	if want := `(default "localhost:50051")`; !strings.Contains(addr, want) {
		t.Errorf("-addr usage %q does not say %s", addr, want)
	}
}

// TestSplitList: a repeatable, comma-separated flag's value gives its
// trimmed items, and no empty ones.
func TestSplitList(t *testing.T) {
	t.Parallel()
	for value, want := range map[string][]string{"page, cli": {"page", "cli"}, "": nil, " ,other,": {"other"}} {
		if diff := cmp.Diff(want, splitList(value)); diff != "" {
			t.Errorf("splitList(%q) (-want +got):\n%s", value, diff)
		}
	}
}
