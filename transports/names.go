package transports

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidName checks one element of a path (a file or folder name). It
// refuses the empty name, "." and "..", and any name containing a slash, a
// backslash, a NUL, a control character or invalid UTF-8. The error wraps
// ErrUnsafeName.
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", ErrUnsafeName)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q", ErrUnsafeName, name)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrUnsafeName, name)
	}
	for _, r := range name {
		switch {
		case r == '/' || r == '\\':
			return fmt.Errorf("%w: %q contains a slash or backslash", ErrUnsafeName, name)
		case r == 0 || unicode.IsControl(r):
			return fmt.Errorf("%w: %q contains a control character", ErrUnsafeName, name)
		}
	}
	return nil
}

// CleanPath checks a slash-separated path relative to a transport's root
// and returns it in canonical form ("a/b/c", or "" for the root itself).
// "" and "." name the root. Absolute paths, ".." elements, backslashes,
// NULs and control characters are refused with an error wrapping
// ErrUnsafeName. Empty elements and "." elements ("a//b", "./a") are
// dropped.
func CleanPath(p string) (string, error) {
	if p == "" || p == "." {
		return "", nil
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%w: %q is absolute", ErrUnsafeName, p)
	}
	parts := strings.Split(p, "/")
	out := parts[:0]
	for _, e := range parts {
		if e == "" || e == "." {
			continue
		}
		if err := ValidName(e); err != nil {
			return "", fmt.Errorf("path %q: %w", p, err)
		}
		out = append(out, e)
	}
	return strings.Join(out, "/"), nil
}

// CleanFilePath is CleanPath for an operation op ("open", "write"...)
// that needs a file: the root itself is refused with an error wrapping
// ErrUnsafeName.
func CleanFilePath(p, op string) (string, error) {
	c, err := CleanPath(p)
	if err != nil {
		return "", err
	}
	if c == "" {
		return "", fmt.Errorf("%w: %s needs a file name", ErrUnsafeName, op)
	}
	return c, nil
}

// CleanRenamePaths cleans the two paths of a Rename with CleanPath; the
// root folder can be neither (an error wrapping ErrUnsafeName).
func CleanRenamePaths(from, to string) (a, b string, err error) {
	if a, err = CleanPath(from); err != nil {
		return "", "", err
	}
	if b, err = CleanPath(to); err != nil {
		return "", "", err
	}
	if a == "" || b == "" {
		return "", "", fmt.Errorf("%w: cannot rename the root folder", ErrUnsafeName)
	}
	return a, b, nil
}

// SafeJoin joins a cleaned relative path onto a local root folder and
// checks that the result stays inside root (lexically; symbolic links are
// the backend's business — transports/local resolves them through
// os.Root). The error wraps ErrUnsafeName.
func SafeJoin(root, p string) (string, error) {
	c, err := CleanPath(p)
	if err != nil {
		return "", err
	}
	root = filepath.Clean(root)
	full := filepath.Join(root, filepath.FromSlash(c))
	rel, err := filepath.Rel(root, full)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%w: %q leaves %s", ErrUnsafeName, p, root)
	}
	return full, nil
}

// JoinRemote joins a remote root folder ("/export", "" for the login
// folder) and a cleaned relative path into a remote path.
func JoinRemote(root, rel string) string {
	switch {
	case rel == "":
		if root == "" {
			return "."
		}
		return root
	case root == "" || root == ".":
		return rel
	}
	return path.Join(root, rel)
}

// MaxNameBytes is the longest file name (one path element, in bytes) that
// the usual file systems and servers hold (NAME_MAX on Linux, 255 UTF-16
// units on NTFS). Names the bridge makes up (KeepBothName, TempName) are
// cut to fit it.
const MaxNameBytes = 255

// cutName cuts s to at most n bytes at a character boundary.
func cutName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// KeepBothName returns the n-th alternative name for p used by the
// KeepBoth overwrite policy: "dir/report.csv" with n=2 gives
// "dir/report (2).csv". n < 2 returns p unchanged. A leading dot is not
// taken as an extension (".profile" gives ".profile (2)"). The stem of a
// very long name is cut so that the result fits MaxNameBytes.
func KeepBothName(p string, n int) string {
	if n < 2 {
		return p
	}
	dir, base := path.Split(p)
	ext := path.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	if stem == "" { // ".profile"
		stem, ext = base, ""
	}
	// "a.tar.gz" keeps ".gz" only; good enough and predictable.
	suffix := " (" + strconv.Itoa(n) + ")" + ext
	return dir + cutName(stem, MaxNameBytes-len(suffix)) + suffix
}

// TempName returns the temporary name used while writing p: a hidden name
// in the same folder ending in ".part", which the file flows ignore
// (".report.csv.<random>.part"). token should be random (12 hex digits, as
// RandomToken makes). The name part of a very long name is cut so that the
// temporary name fits MaxNameBytes wherever p's own name fits: a file
// named with 250 bytes can still be written. TempFor tells which name a
// temporary name stands for.
func TempName(p, token string) string {
	dir, base := path.Split(p)
	return dir + "." + cutName(base, MaxNameBytes-len(token)-len("...part")) + "." + token + ".part"
}

var tempRe = regexp.MustCompile(`^\.(.+)\.[0-9a-f]{12}\.part$`)

// TempFor reports whether base (a base name) is a temporary name made by
// TempName with a RandomToken, and if so whether it is one while writing
// name: the name part is name itself, or, when cut, its beginning.
func TempFor(base string) (matches func(name string) bool, ok bool) {
	m := tempRe.FindStringSubmatch(base)
	if m == nil {
		return nil, false
	}
	part := m[1]
	cut := len(base) == MaxNameBytes || len(base) >= MaxNameBytes-3 // cut at a character boundary
	return func(name string) bool {
		if name == part {
			return true
		}
		return cut && len(name) > len(part) && strings.HasPrefix(name, part)
	}, true
}

// IsTempName reports whether name (a base name) looks like a temporary or
// lock file that file flows ignore: "~$*", "*.tmp", "*.part", ".*".
func IsTempName(name string) bool {
	return strings.HasPrefix(name, "~$") || strings.HasPrefix(name, ".") ||
		strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".part")
}
