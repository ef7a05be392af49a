package transports

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCleanPath checks that whatever CleanPath accepts is a plain relative
// path whose every element is a valid name, and that SafeJoin keeps it
// inside the root.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"", ".", "a/b.csv", "../x", "a/../../b", "/etc/passwd", `a\b`, "a\x00b",
		"./a//b/", "..", "...", "a/.../b", "~$lock.xlsx", "relatório ção.csv", "\u202eevil", "a/\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, err := CleanPath(p)
		if err != nil {
			return
		}
		if strings.HasPrefix(c, "/") || strings.HasSuffix(c, "/") || strings.Contains(c, "//") {
			t.Fatalf("CleanPath(%q) = %q: not a clean relative path", p, c)
		}
		if c != "" {
			for _, e := range strings.Split(c, "/") {
				if err := ValidName(e); err != nil {
					t.Fatalf("CleanPath(%q) = %q holds the invalid element %q: %v", p, c, e, err)
				}
			}
		}
		full, err := SafeJoin("/srv/root", p)
		if err != nil {
			t.Fatalf("SafeJoin refused what CleanPath accepted (%q): %v", p, err)
		}
		if rel, err := filepath.Rel("/srv/root", full); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			t.Fatalf("SafeJoin(%q) = %q leaves the root", p, full)
		}
		if k := KeepBothName(c, 2); c != "" && (strings.Count(k, "/") != strings.Count(c, "/")) {
			t.Fatalf("KeepBothName(%q) = %q changes the folder", c, k)
		}
	})
}
