package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestUsageLineNamesEveryFlag keeps the usage line in step with the flags:
// every flag the command defines, as --help lists them, must appear in it.
func TestUsageLineNamesEveryFlag(t *testing.T) {
	t.Parallel()
	var stdout, stderr strings.Builder
	if err := run(t.Context(), []string{"--help"}, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatalf("routeguide --help: %v", err)
	}
	usageLine, _, _ := strings.Cut(stderr.String(), "\n")
	flags := regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(stderr.String(), -1)
	if len(flags) < 4 {
		t.Fatalf("routeguide --help listed %d flags, want at least 4:\n%s", len(flags), stderr.String())
	}
	for _, flag := range flags {
		if !strings.Contains(usageLine, "[--"+flag[1]) {
			t.Errorf("the usage line %q does not name --%s", usageLine, flag[1])
		}
	}
}
