package architecture

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// modules are the directories of the repository's Go modules whose
// commands serve or call RouteGuide.
var modules = []string{root, filepath.Join(root, "bench"), filepath.Join(root, "soak")}

// TestOneMajorOfConnect fails when a command links connect-go v1
// (connectrpc.com/connect) beside v2: two copies of the RPC runtime, whose
// errors and codes do not know each other.
func TestOneMajorOfConnect(t *testing.T) {
	t.Parallel()
	for _, dir := range modules {
		for _, p := range goList(t, dir, "./...") {
			if p.Name != "main" {
				continue
			}
			deps := goList(t, dir, "-deps", p.ImportPath)
			if slices.ContainsFunc(deps, func(d goPackage) bool { return d.ImportPath == "connectrpc.com/connect" }) {
				t.Errorf("%s links connectrpc.com/connect (v1): every program must use connectrpc.com/connect/v2 alone", p.ImportPath)
			}
		}
	}
}

// stackBuilders are the calls that put together a serving stack: only
// server.New may make them, so that every program that serves RouteGuide
// (routeguide-server, the conformance server, the bench, the soak tool)
// serves the same one.
var stackBuilders = []string{"connect.NewServer", "connecthttp.Mount", "transport.New", "observe.NewRefusals", "browser.CORS"}

// TestOneStack fails when code outside package server builds a serving
// stack of its own, as the conformance server once did by hand: what the
// conformance suite tests must be what ships. Tests may build small ones.
func TestOneStack(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	for _, dir := range modules {
		for _, p := range goList(t, dir, "./...") {
			// observe.Refusals dispatches refused calls to the interceptors
			// through a connect.Server of its own, which serves nothing.
			if strings.HasSuffix(p.ImportPath, "routeguide/server") || strings.HasSuffix(p.ImportPath, "server/observe") {
				continue
			}
			for _, name := range p.GoFiles {
				file := filepath.Join(p.Dir, name)
				f, err := parser.ParseFile(fset, file, nil, 0)
				if err != nil {
					t.Fatal(err)
				}
				ast.Inspect(f, func(n ast.Node) bool {
					sel, ok := n.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					x, ok := sel.X.(*ast.Ident)
					if ok && slices.Contains(stackBuilders, x.Name+"."+sel.Sel.Name) && !strings.HasSuffix(p.ImportPath, "/"+x.Name) {
						t.Errorf("%s calls %s.%s: serve through server.New, the one stack", fset.Position(sel.Pos()), x.Name, sel.Sel.Name)
					}
					return true
				})
			}
		}
	}
}
