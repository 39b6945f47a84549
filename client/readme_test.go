package client_test

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestREADMEShowsExample keeps the Go code README.md shows identical to the
// program Example runs, so the README's code always compiles and does what
// the example's output says.
func TestREADMEShowsExample(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("example_program_test.go")
	if err != nil {
		t.Fatal(err)
	}
	// The example's imports and visit: everything between the package
	// clause and Example.
	want := string(example)
	start, end := strings.Index(want, "import ("), strings.Index(want, "// Example runs")
	if start < 0 || end < start {
		t.Fatal("example_program_test.go: no import block followed by Example's doc comment")
	}
	want = strings.TrimSpace(want[start:end])

	// The first go block after the heading "### The Go library".
	text := string(readme)
	_, section, found := strings.Cut(text, "\n### The Go library\n")
	if !found {
		t.Fatal(`README.md: no section "### The Go library"`)
	}
	_, block, found := strings.Cut(section, "\n```go\n")
	block, _, closed := strings.Cut(block, "\n```\n")
	if !found || !closed {
		t.Fatal(`README.md: no go block under "### The Go library"`)
	}
	if diff := cmp.Diff(want, strings.TrimSpace(block)); diff != "" {
		t.Errorf("README.md's Go code differs from client/example_program_test.go (-example +README):\n%s", diff)
	}
}
