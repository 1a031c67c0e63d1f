package tollgate_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRootImportsOnlyTheStandardLibrary: the root package is what every
// user imports; it must not pull a dependency (jwx, go-cache, grpc) into
// programs that use only its types.
func TestRootImportsOnlyTheStandardLibrary(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s, which is not in the standard library", name, path)
			}
		}
	}
	if n == 0 {
		t.Fatal("no source file of the root package found")
	}
}

// TestNoJWXTypeInExportedAPI: jwx v2 is deprecated by its author; keeping
// its types out of every exported declaration (signatures, struct fields,
// embedded types, interface methods, variables) lets a move to v3 stay
// internal. Packages under internal/ and commands are not API.
func TestNoJWXTypeInExportedAPI(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" ||
				name == "internal" || name == "examples" || name == "cmd" || name == "bench" || name == "interop") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		checked++
		jwx := map[string]bool{} // local names of the jwx imports of this file
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, "github.com/lestrrat-go/") {
				continue
			}
			name := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			jwx[name] = true
		}
		if len(jwx) == 0 {
			return nil
		}
		report := func(what string, expr ast.Node) {
			ast.Inspect(expr, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && jwx[id.Name] {
						t.Errorf("%s: exported %s uses %s.%s", fset.Position(sel.Pos()), what, id.Name, sel.Sel.Name)
					}
				}
				return true
			})
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() || (d.Recv != nil && !exportedReceiver(d.Recv)) {
					continue
				}
				report("func "+d.Name.Name, d.Type)
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							exportedParts(s.Type, func(n ast.Node) { report("type "+s.Name.Name, n) })
						}
					case *ast.ValueSpec:
						for _, name := range s.Names {
							if name.IsExported() {
								if s.Type != nil {
									report(name.Name, s.Type)
								}
								for _, v := range s.Values {
									report(name.Name, v)
								}
							}
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("only %d files checked: the walk missed the packages", checked)
	}
}

// exportedReceiver reports whether a method's receiver type is exported.
func exportedReceiver(recv *ast.FieldList) bool {
	typ := recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	switch x := typ.(type) {
	case *ast.IndexExpr:
		typ = x.X
	case *ast.IndexListExpr:
		typ = x.X
	}
	id, ok := typ.(*ast.Ident)
	return ok && id.IsExported()
}

// exportedParts calls fn with the parts of a type that its users see: for a
// struct, the exported and the embedded fields; for an interface, every
// method and embedded type; otherwise the whole type.
func exportedParts(typ ast.Expr, fn func(ast.Node)) {
	switch x := typ.(type) {
	case *ast.StructType:
		for _, field := range x.Fields.List {
			exported := len(field.Names) == 0 // embedded: its methods are promoted
			for _, name := range field.Names {
				exported = exported || name.IsExported()
			}
			if exported {
				fn(field.Type)
			}
		}
	default:
		fn(typ)
	}
}
