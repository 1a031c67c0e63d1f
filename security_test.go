package tollgate_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// repoPackage is one directory of Go code of the repository (every module).
type repoPackage struct {
	dir         string          // relative to the repository root, "." for the root
	name        string          // the package name, without _test
	startsGo    bool            // a non-test file has a go statement
	imports     map[string]bool // repository directories its non-test files import
	testImports map[string]bool // repository directories its _test.go files import
	testFuncs   map[string]bool // Test, Fuzz, Example and Benchmark functions
	testSource  string          // every _test.go file, concatenated
}

const modulePath = "github.com/tollgate/tollgate"

// repoPackages parses every Go file of the repository (all modules, not
// testdata or node_modules) once.
func repoPackages(t *testing.T) map[string]*repoPackage {
	t.Helper()
	pkgs := map[string]*repoPackage{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		p := pkgs[dir]
		if p == nil {
			p = &repoPackage{dir: dir, imports: map[string]bool{}, testImports: map[string]bool{}, testFuncs: map[string]bool{}}
			pkgs[dir] = p
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, "_test.go") {
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			p.testSource += string(src)
			for _, imp := range f.Imports {
				if rest, ok := strings.CutPrefix(strings.Trim(imp.Path.Value, `"`), modulePath+"/"); ok {
					p.testImports[rest] = true
				}
			}
			for _, decl := range f.Decls {
				if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil {
					p.testFuncs[fn.Name.Name] = true
				}
			}
			if p.name == "" {
				p.name = strings.TrimSuffix(f.Name.Name, "_test")
			}
			return nil
		}
		p.name = f.Name.Name
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if rest, ok := strings.CutPrefix(path, modulePath+"/"); ok {
				p.imports[rest] = true
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if _, ok := n.(*ast.GoStmt); ok {
				p.startsGo = true
			}
			return !p.startsGo
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// securityTestName matches the tests SECURITY.md names: `package.TestName`,
// optionally with a subtest after a slash.
var securityTestName = regexp.MustCompile("`([a-z][a-z0-9]*)\\.((?:Test|Fuzz|Example|Benchmark)[A-Za-z0-9_]*)(?:/([^`]*))?`")

// TestSecurityDocNamesExistingTests keeps SECURITY.md true: every test it
// names as `package.TestName` is a function of that name in a _test.go file
// of a package of that name, and a subtest it names (`package.TestName/sub_name`)
// appears in that package's tests as the string literal go test renames it
// from ("sub name").
func TestSecurityDocNamesExistingTests(t *testing.T) {
	doc, err := os.ReadFile("SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := repoPackages(t)
	names := securityTestName.FindAllStringSubmatch(string(doc), -1)
	if len(names) < 40 {
		t.Fatalf("SECURITY.md names %d tests; the threat model maps to far more", len(names))
	}
	for _, m := range names {
		pkg, fn, sub := m[1], m[2], m[3]
		found, known, subFound := false, false, sub == ""
		for _, p := range pkgs {
			if p.name == pkg && p.testFuncs[fn] {
				found = true
				subFound = subFound || strings.Contains(p.testSource, `"`+strings.ReplaceAll(sub, "_", " ")+`"`)
			}
			known = known || p.name == pkg
		}
		switch {
		case !known:
			t.Errorf("SECURITY.md names %s: there is no package %s", m[0], pkg)
		case !found:
			t.Errorf("SECURITY.md names %s: package %s has no func %s", m[0], pkg, fn)
		case !subFound:
			t.Errorf("SECURITY.md names %s: no subtest %q in package %s", m[0], strings.ReplaceAll(sub, "_", " "), pkg)
		}
	}
}

// TestLeakChecksWhereGoroutinesStart: every package that starts goroutines,
// or uses one that does, checks its tests for leaked goroutines with goleak.
// A package without tests is covered when a package importing it is (from
// its code or from its tests, as test-support packages are).
func TestLeakChecksWhereGoroutinesStart(t *testing.T) {
	pkgs := repoPackages(t)
	// Close the set of packages that start goroutines under "is imported by".
	starts := map[string]bool{}
	for dir, p := range pkgs {
		if p.startsGo {
			starts[dir] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for dir, p := range pkgs {
			if starts[dir] {
				continue
			}
			for imp := range p.imports {
				if starts[imp] {
					starts[dir], changed = true, true
					break
				}
			}
		}
	}
	checked := func(p *repoPackage) bool {
		return strings.Contains(p.testSource, "goleak.VerifyTestMain(") || strings.Contains(p.testSource, "goleak.VerifyNone(") ||
			strings.Contains(p.testSource, "goleak.Find(") // in a TestMain that closes shared fixtures first
	}
	var dirs []string
	for dir := range starts {
		dirs = append(dirs, dir)
	}
	slices.Sort(dirs)
	if len(dirs) < 5 {
		t.Fatalf("only %d packages start goroutines: %v; the scan is broken", len(dirs), dirs)
	}
	for _, dir := range dirs {
		p := pkgs[dir]
		if p.testSource != "" {
			if !checked(p) {
				t.Errorf("%s starts goroutines (or uses a package that does) but its tests do not use goleak", dir)
			}
			continue
		}
		covered := false
		for _, q := range pkgs {
			covered = covered || (q.imports[dir] || q.testImports[dir]) && checked(q)
		}
		if !covered {
			t.Errorf("%s starts goroutines, has no tests, and no package importing it checks for leaks", dir)
		}
	}
}
