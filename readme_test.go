package tollgate_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeUsageMatchesExample keeps the README's usage snippet identical to
// the code of Example, which is compiled and run: the README cannot show
// code that does not work.
func TestReadmeUsageMatchesExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, usage, ok := strings.Cut(string(readme), "## Usage\n\n```go\n")
	usage, _, ok2 := strings.Cut(usage, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no go code block under ## Usage")
	}
	_, example, ok := strings.Cut(string(src), "// README usage begins.\n")
	example, _, ok2 = strings.Cut(example, "\t// README usage ends.")
	if !ok || !ok2 {
		t.Fatal("Example has no README usage markers")
	}
	var lines []string
	for _, l := range strings.SplitAfter(example, "\n") {
		lines = append(lines, strings.TrimPrefix(l, "\t"))
	}
	if got := strings.Join(lines, ""); got != usage {
		t.Errorf("README usage differs from Example:\n--- README\n%s\n--- Example\n%s", usage, got)
	}
}
