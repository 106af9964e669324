package modules_test

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// moduleRoot walks up from the test's directory to the directory holding
// go.mod and returns it with the Go module path.
func moduleRoot(t *testing.T) (dir, modPath string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if p, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(p), `"`)
				}
			}
			t.Fatalf("%s/go.mod has no module line", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// importViolation says why a file of module `from` (its package path
// relative to internal/modules, e.g. "admin" or "users/contracts") may not
// import imp, or returns "" when it may. modulesPrefix is the import path of
// internal/modules with a trailing slash. The rules:
//   - a module imports another module only through that module's contracts
//     (or a package below it);
//   - a contracts package imports nothing of its own module's other
//     packages, so the contracts never drag a module's internals along.
func importViolation(from, imp, modulesPrefix string) string {
	rest, ok := strings.CutPrefix(imp, modulesPrefix)
	if !ok {
		return ""
	}
	fromModule, fromSub, _ := strings.Cut(from, "/")
	toModule, toSub, _ := strings.Cut(rest, "/")
	isContracts := func(sub string) bool { return sub == "contracts" || strings.HasPrefix(sub, "contracts/") }
	if toModule != fromModule {
		if !isContracts(toSub) {
			return "module " + fromModule + " imports " + imp + "; other modules are reachable only through " + modulesPrefix + toModule + "/contracts"
		}
		return ""
	}
	if isContracts(fromSub) && !isContracts(toSub) {
		return "contracts package " + from + " imports " + imp + "; contracts must not depend on their module's other packages"
	}
	return ""
}

func TestImportViolationRules(t *testing.T) {
	const prefix = "example.com/app/internal/modules/"
	tests := []struct {
		name    string
		from    string
		imp     string
		violate bool
	}{
		{name: "standard library", from: "admin", imp: "net/http"},
		{name: "platform package", from: "admin", imp: "example.com/app/internal/platform/web"},
		{name: "other module contracts", from: "admin", imp: prefix + "users/contracts"},
		{name: "other module contracts sub-package", from: "admin/handlers", imp: prefix + "users/contracts/events"},
		{name: "own internals", from: "users", imp: prefix + "users/internal/store"},
		{name: "own internals from a sub-package", from: "users/internal/handlers", imp: prefix + "users/internal/store"},
		{name: "other module root", from: "admin", imp: prefix + "users", violate: true},
		{name: "other module internals", from: "admin", imp: prefix + "users/internal/store", violate: true},
		{name: "other module internals from a sub-package", from: "billing/internal/web", imp: prefix + "users/internal/store", violate: true},
		{name: "look-alike of contracts", from: "admin", imp: prefix + "users/contractsx", violate: true},
		{name: "contracts importing own internals", from: "users/contracts", imp: prefix + "users/internal/store", violate: true},
		{name: "contracts importing own root", from: "users/contracts", imp: prefix + "users", violate: true},
		{name: "contracts importing other contracts", from: "users/contracts", imp: prefix + "billing/contracts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := importViolation(tt.from, tt.imp, prefix)
			if (got != "") != tt.violate {
				t.Errorf("importViolation(%q, %q): got %q, want violation=%v", tt.from, tt.imp, got, tt.violate)
			}
		})
	}
}

// TestModulesImportOnlyContracts parses the imports of every Go file (tests
// included) under internal/modules and fails on any import of another
// module's non-contract package, for every pair of modules.
func TestModulesImportOnlyContracts(t *testing.T) {
	root, modPath := moduleRoot(t)
	modulesDir := filepath.Join(root, "internal", "modules")
	modulesPrefix := modPath + "/internal/modules/"
	fset := token.NewFileSet()
	modules := map[string]bool{}
	files := 0
	var problems []string
	err := filepath.WalkDir(modulesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != modulesDir && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, err := filepath.Rel(modulesDir, filepath.Dir(path))
		if err != nil {
			return err
		}
		from := filepath.ToSlash(rel)
		if from == "." {
			return nil // a file directly in internal/modules belongs to no module
		}
		mod, _, _ := strings.Cut(from, "/")
		modules[mod] = true
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, spec := range f.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return err
			}
			if msg := importViolation(from, imp, modulesPrefix); msg != "" {
				relFile, _ := filepath.Rel(root, path)
				problems = append(problems, filepath.ToSlash(relFile)+": "+msg)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", modulesDir, err)
	}
	// Guard against a walk that silently checks nothing.
	for _, want := range []string{"admin", "users"} {
		if !modules[want] {
			t.Fatalf("module %q not found under %s (found %v); the check would prove nothing", want, modulesDir, modules)
		}
	}
	if files == 0 {
		t.Fatal("no Go files parsed")
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}
