package architecture

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/natstest"
	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/notes"
)

// foreignPackages are the packages from outside the module that the path
// of a request names, by the name the page uses.
var foreignPackages = map[string]string{
	"http":        "net/http",
	"connect":     "connectrpc.com/connect/v2",
	"connecthttp": "connectrpc.com/connect/v2/connecthttp",
	"otelconnect": "connectrpc.com/otelconnect",
	"cors":        "github.com/rs/cors",
}

// name is a Go name as the page writes it: pkg.Name or pkg.Type.Method.
type name struct {
	pkg   string   // the package's name, as in code
	parts []string // Name, or Type and Method
}

func (n name) String() string { return n.pkg + "." + strings.Join(n.parts, ".") }

var (
	codeName = regexp.MustCompile("`([a-z][a-z0-9]*)\\.([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)?)`")
	listItem = regexp.MustCompile(`^\d+\. ` + "`")
)

// layers returns the name that starts each item of the numbered list under
// heading in the section "The path of a request".
func layers(t *testing.T, lines []string, heading string) []name {
	t.Helper()
	var names []name
	in := false
	for _, line := range lines {
		if strings.HasPrefix(line, "### ") {
			in = line == heading
			continue
		}
		if !in || !listItem.MatchString(line) {
			continue
		}
		m := codeName.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("docs/architecture.md: %q does not start with a Go name such as `pkg.Name`", line)
		}
		names = append(names, name{m[1], strings.Split(m[2], ".")})
	}
	if len(names) == 0 {
		t.Fatalf("docs/architecture.md: no numbered list under %q", heading)
	}
	return names
}

// TestRequestPath makes a real call of each shape (unary, a response
// stream, a bidirectional stream, and that again with its notes in
// JetStream) through a server with every optional layer on and checks that the stack of the goroutine serving it, from the
// HTTP server down to the innermost interceptor, passes through
// the layers docs/architecture.md lists, in its order, and through no other
// code of the server's packages. A layer's code is known by its function's
// name, or by its source file where inlining has given a closure the name of
// its caller.
func TestRequestPath(t *testing.T) {
	t.Parallel()
	lines := section(t, "## The path of a request")
	want := layers(t, lines, "### Through the handler, outermost first")
	pkgs := packagesByName(t)
	// One call of each shape that crosses the stack differently: unary,
	// a response stream and a bidirectional stream.
	calls := map[string]func(context.Context, *client.Client) error{
		"GetFeature": func(ctx context.Context, c *client.Client) error {
			_, err := c.GetFeature(ctx, &routeguide.Point{})
			return err
		},
		"ListFeatures": func(ctx context.Context, c *client.Client) error {
			for _, err := range c.ListFeatures(ctx, &routeguide.Rectangle{Lo: &routeguide.Point{}, Hi: &routeguide.Point{}}) {
				if err != nil {
					return err
				}
			}
			return nil
		},
		"RouteChat": func(ctx context.Context, c *client.Client) error {
			chat := c.RouteChat(ctx)
			if err := chat.Send(&routeguide.RouteNote{Location: &routeguide.Point{}, Message: "path"}); err != nil {
				return err
			}
			if err := chat.CloseSend(); err != nil {
				return err
			}
			for _, err := range chat.Replies() {
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	for method, call := range calls {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			checkPath(t, want, pkgs, method, call)
		})
	}
	// The notes of a chat in JetStream, as replicas keep them: the store
	// is behind the service, so the path through the stack is the same.
	t.Run("RouteChat over JetStream", func(t *testing.T) {
		t.Parallel()
		nats := natstest.Start(t)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		store, err := notes.OpenJetStream(ctx, notes.JetStreamConfig{URLs: nats.URL(), Replicas: 1, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		checkPath(t, want, pkgs, "RouteChat", calls["RouteChat"], server.WithNotesStore(store))
	})
}

// maxLayers is the most layers of the project's own that a call may
// cross, issue 18's goal: a layer that has to re-read what another wrote
// belongs with it.
const maxLayers = 6

// TestLayerCount fails when the path of a request docs/architecture.md
// lists, which TestRequestPath holds every call to, has more than
// maxLayers layers of the module's own packages.
func TestLayerCount(t *testing.T) {
	t.Parallel()
	want := layers(t, section(t, "## The path of a request"), "### Through the handler, outermost first")
	pkgs := packagesByName(t)
	module := pkgs["server"].path[:strings.LastIndex(pkgs["server"].path, "/")]
	var own []string
	for _, layer := range want {
		if strings.HasPrefix(pkgs[layer.pkg].path, module+"/") {
			own = append(own, layer.String())
		}
	}
	if len(own) > maxLayers {
		t.Errorf("a call crosses %d layers of the project's own, more than %d: %s", len(own), maxLayers, strings.Join(own, ", "))
	}
}

// checkPath makes the call, which calls method, to a server with options
// besides every optional layer, and checks its path against want.
func checkPath(t *testing.T, want []name, pkgs map[string]goPackageName, method string,
	call func(context.Context, *client.Client) error, options ...server.Option,
) {
	var once sync.Once
	var frames []runtime.Frame
	probe := streamProbe(func() {
		once.Do(func() { frames = callers() })
	})
	ts := routeguidetest.NewRouteGuide(t, nil, append([]server.Option{
		server.WithCORSOrigins("http://example.com"),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		server.WithMeterProvider(noop.NewMeterProvider()),
		// Inside the server's own interceptors.
		server.WithInterceptors(probe.intercept),
	}, options...)...)
	c, err := client.New(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := call(t.Context(), c); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if frames == nil {
		t.Fatal("the probe interceptor never ran")
	}

	// Outermost first, each frame of a listed layer must belong to that
	// layer or to one listed after it, and every frame of the server's
	// packages to a listed layer.
	serverPackages := pkgs["server"].path
	next := 0
	seen := make([]bool, len(want))
	var path []string
	for _, frame := range slices.Backward(frames) {
		path = append(path, frame.Function)
		i := slices.IndexFunc(want, func(layer name) bool { return layer.matches(frame, pkgs) })
		switch {
		case i < 0 && (strings.HasPrefix(frame.Function, serverPackages+".") || strings.HasPrefix(frame.Function, serverPackages+"/")):
			t.Errorf("%s is on the path of a call, but in no layer docs/architecture.md lists", frame.Function)
		case i < 0:
		case i < next:
			t.Errorf("%s (%s) runs inside %s, but docs/architecture.md lists it before", want[i], frame.Function, want[next])
		default:
			next = i
		}
		if i >= 0 {
			seen[i] = true
		}
	}
	for i, layer := range want {
		if !seen[i] {
			t.Errorf("%s, listed in docs/architecture.md, is not on the path of a %s call", layer, method)
		}
	}
	if t.Failed() {
		t.Logf("the path, outermost first:\n%s", strings.Join(path, "\n"))
	}
}

// TestNamesExist fails when docs/architecture.md's path of a request names a
// function, type or method of the module that its package no longer
// declares.
func TestNamesExist(t *testing.T) {
	t.Parallel()
	lines := section(t, "## The path of a request")
	dirs, paths := make(map[string]string), make(map[string]string)
	for _, p := range goList(t, root, "./...") {
		if p.Name != "main" {
			dirs[p.Name], paths[p.Name] = p.Dir, p.ImportPath
		}
	}
	declared := make(map[string]map[string]bool)
	checked := 0
	for _, line := range lines {
		for _, m := range codeName.FindAllStringSubmatch(line, -1) {
			dir, ok := dirs[m[1]]
			if !ok {
				continue // not a package of the module: http.Server, connect.Handler
			}
			if declared[dir] == nil {
				declared[dir] = declarations(t, dir)
			}
			if !declared[dir][m[2]] {
				t.Errorf("docs/architecture.md names %s.%s, which %s does not declare", m[1], m[2], paths[m[1]])
			}
			checked++
		}
	}
	if checked == 0 {
		t.Error("docs/architecture.md's path of a request names nothing of the module")
	}
}

// declarations returns the top-level names declared in the non-test files of
// the package in dir, methods as Type.Method.
func declarations(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[string]bool)
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					names[d.Name.Name] = true
				} else {
					names[receiverType(d.Recv.List[0].Type)+"."+d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						names[s.Name.Name] = true
					case *ast.ValueSpec:
						for _, n := range s.Names {
							names[n.Name] = true
						}
					}
				}
			}
		}
	}
	return names
}

func receiverType(expr ast.Expr) string {
	switch e := expr.(type) {
	case *ast.StarExpr:
		return receiverType(e.X)
	case *ast.IndexExpr:
		return receiverType(e.X)
	case *ast.IndexListExpr:
		return receiverType(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// goPackageName is where a package the page names is: its import path and
// its directory.
type goPackageName struct {
	path, dir string
}

// packagesByName maps the name of each package of the module, and of the
// foreign ones the page names, to where it is.
func packagesByName(t *testing.T) map[string]goPackageName {
	t.Helper()
	pkgs := make(map[string]goPackageName)
	for _, p := range goList(t, root, append([]string{"./..."}, slices.Collect(maps.Values(foreignPackages))...)...) {
		if p.Name != "main" {
			pkgs[p.Name] = goPackageName{path: p.ImportPath, dir: p.Dir}
		}
	}
	for name, path := range foreignPackages {
		if pkgs[name].path != path {
			t.Fatalf("package name %s is both %s and %s", name, path, pkgs[name].path)
		}
	}
	return pkgs
}

// matches reports whether frame runs code of n: its function, as the
// runtime names it (such as
// github.com/routeguide/routeguide/server/transport.(*Stack).intercept.func1),
// has n's parts among its own, and belongs to n's package either by that
// name or by the file its code is in. The file tells when n's function was
// inlined into a caller in another package, whose name its closures then
// take: the closure of observe.Calls inlined into the server's
// observability.interceptors is
// server.(*observability).interceptors.Calls.func1.1.
func (n name) matches(frame runtime.Frame, pkgs map[string]goPackageName) bool {
	pkg, ok := pkgs[n.pkg]
	if !ok {
		return false
	}
	var rest string
	if after, ok := strings.CutPrefix(frame.Function, pkg.path+"."); ok {
		rest = after
	} else if dir := filepath.Dir(frame.File); dir == pkg.dir || dir == pkg.path {
		// The function's own name follows its package's path, which has
		// no dot after its last slash.
		rest = frame.Function[strings.LastIndex(frame.Function, "/")+1:]
		_, rest, _ = strings.Cut(rest, ".")
	} else {
		return false
	}
	parts := strings.Split(strings.NewReplacer("(*", "", ")", "").Replace(rest), ".")
	for i := range parts {
		if i+len(n.parts) <= len(parts) && slices.Equal(parts[i:i+len(n.parts)], n.parts) {
			return true
		}
	}
	return false
}

// callers returns the frames of the calling goroutine's stack, innermost
// first.
func callers() []runtime.Frame {
	pcs := make([]uintptr, 128)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	var all []runtime.Frame
	for {
		frame, more := frames.Next()
		all = append(all, frame)
		if !more {
			return all
		}
	}
}

// streamProbe is an interceptor that calls itself when a call reaches it.
type streamProbe func()

func (p streamProbe) intercept(next connect.ServerFunc) connect.ServerFunc {
	return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
		p()
		return next(ctx, spec, stream)
	}
}
