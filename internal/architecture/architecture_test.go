package architecture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// root is the module's root, relative to this package's directory, where go
// test runs its tests.
const root = "../.."

// goPackage is what this test reads of go list -json's output.
type goPackage struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
	Module     *struct{ Path string }
}

// goList runs go list -json with args in dir and decodes the packages it
// prints.
func goList(t *testing.T, dir string, args ...string) []goPackage {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s in %s: %v\n%s", strings.Join(args, " "), dir, err, stderr.Bytes())
	}
	var packages []goPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return packages
		} else if err != nil {
			t.Fatalf("go list %s: decode: %v", strings.Join(args, " "), err)
		}
		packages = append(packages, p)
	}
}

// section returns the lines of docs/architecture.md under heading, up to
// the next heading of the same level.
func section(t *testing.T, heading string) []string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	level := heading[:strings.Index(heading, " ")+1]
	var lines []string
	in := false
	for scanner := bufio.NewScanner(bytes.NewReader(doc)); scanner.Scan(); {
		line := scanner.Text()
		if strings.HasPrefix(line, level) {
			in = line == heading
			continue
		}
		if in {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		t.Fatalf("docs/architecture.md: no section %q", heading)
	}
	return lines
}

// tableRow matches a row of the imports table: | `package` | what it holds | `a`, `b` |.
var tableRow = regexp.MustCompile("^\\| `([^`]+)` \\|.*\\| ([^|]*) \\|$")

// allowedImports reads the table of docs/architecture.md's section "What
// each package may import": for each package, relative to the module, the
// packages of the module it may import. A dash means none.
func allowedImports(t *testing.T) map[string][]string {
	t.Helper()
	allowed := make(map[string][]string)
	for _, line := range section(t, "## What each package may import") {
		m := tableRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if _, dup := allowed[m[1]]; dup {
			t.Errorf("docs/architecture.md: %s has two rows", m[1])
		}
		allowed[m[1]] = []string{}
		for _, name := range strings.Split(m[2], ",") {
			name = strings.Trim(strings.TrimSpace(name), "`")
			if name != "" && name != "—" {
				allowed[m[1]] = append(allowed[m[1]], name)
			}
		}
	}
	if len(allowed) == 0 {
		t.Fatal(`docs/architecture.md: no table under "## What each package may import"`)
	}
	return allowed
}

// TestImportsFollowArchitecture fails when a package imports a package of
// the module that docs/architecture.md does not allow it, and when the
// table and the module's packages disagree on which packages exist. Tests
// may import more, such as internal/routeguidetest: only the code that
// ships is held to the table.
func TestImportsFollowArchitecture(t *testing.T) {
	t.Parallel()
	allowed := allowedImports(t)
	packages := goList(t, root, "./...")
	seen := make(map[string]bool)
	for _, p := range packages {
		module := p.Module.Path
		name := strings.TrimPrefix(p.ImportPath, module+"/")
		seen[name] = true
		may, ok := allowed[name]
		if !ok {
			t.Errorf("%s is not in docs/architecture.md's table: add a row saying what it holds and may import", name)
			continue
		}
		for _, imported := range p.Imports {
			dep, internal := strings.CutPrefix(imported, module+"/")
			if internal && !slices.Contains(may, dep) {
				t.Errorf("%s imports %s, which docs/architecture.md does not allow it: "+
					"change the code, or the table if the design has changed", name, dep)
			}
		}
	}
	for name := range allowed {
		if !seen[name] {
			t.Errorf("docs/architecture.md's table has %s, which is no package of the module", name)
		}
	}
}

// TestBenchServersWithoutConnect keeps the benchmark's yardsticks honest:
// the grpc-go reference server and the net/http ceiling must not carry any
// of connect-go or of the server they are measured against.
func TestBenchServersWithoutConnect(t *testing.T) {
	t.Parallel()
	const server = "github.com/routeguide/routeguide/server"
	for _, p := range goList(t, filepath.Join(root, "bench"), "./cmd/reference-server", "./cmd/ceiling-server") {
		var forbidden []string
		for _, dep := range p.Deps {
			if dep == server || strings.HasPrefix(dep, "connectrpc.com/") {
				forbidden = append(forbidden, dep)
			}
		}
		if len(forbidden) > 0 {
			t.Errorf("%s depends on %s: the servers the RouteGuide server is measured against "+
				"must carry neither connect-go nor the server itself", p.ImportPath, strings.Join(forbidden, ", "))
		}
	}
}
