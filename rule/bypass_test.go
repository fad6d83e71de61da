package rule_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// backgroundJobs are the functions of request-path packages that run as the
// system: jobs the server starts itself, never reached from a request.
var backgroundJobs = map[string]bool{
	"sales.SweepHolds":             true,
	"aftersales.SweepOrphanPhotos": true,
}

// TestNoRequestRunsAsTheSystem keeps auth.SystemContext out of the code that
// serves requests: a request that must see past the privacy rules asks a
// named probe of this package (probe.go), reviewed and tested with the rules.
func TestNoRequestRunsAsTheSystem(t *testing.T) {
	fset := token.NewFileSet()
	for _, dir := range []string{"sales", "aftersales", "account", "api", "graph"} {
		err := filepath.WalkDir(filepath.Join("..", dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "apitest" || d.Name() == "testdata") {
				return filepath.SkipDir // test helpers write the fixtures as the system
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || d.Name() == "generated.go" {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || backgroundJobs[f.Name.Name+"."+fn.Name.Name] {
					continue
				}
				ast.Inspect(fn, func(n ast.Node) bool {
					if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "SystemContext" {
						if id, ok := sel.X.(*ast.Ident); ok && id.Name == "auth" {
							t.Errorf("%s: %s runs as the system; ask a probe of package rule instead", fset.Position(sel.Pos()), fn.Name.Name)
						}
					}
					return true
				})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
