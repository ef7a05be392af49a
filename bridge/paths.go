package bridge

import (
	"errors"
	"fmt"
	"path"
	"runtime"
	"strings"
)

// Folder options name folders of this machine (or of a network share it
// reaches): data_dir, [log] file, a local connection's root, a sheet job's
// inbox path and mappings, ... On Windows they may be written with a drive
// letter ("D:\fieldbridge\entrada", "D:/fieldbridge/entrada") or as a UNC
// path ("\\server\share\entrada", "//server/share/entrada"); relative
// paths are relative to the config file's folder everywhere.
//
// The functions below take the operating system (runtime.GOOS) as a
// parameter, so that Windows paths are tested on any machine.

// CheckFolder reports what is wrong with p as a folder option on this
// machine (nil for a usable path, or ""). It does no I/O.
func CheckFolder(p string) error { return checkFolder(runtime.GOOS, p) }

// IsNetworkFolder reports whether p names a network share (a UNC path on
// Windows). File-system events do not report changes other machines make
// on a share, so watched network folders rely on the periodic rescan.
func IsNetworkFolder(p string) bool { return isNetworkPath(runtime.GOOS, p) }

// resolvePath makes p absolute against dir (the config file's folder) by
// the path rules of goos. Absolute paths are returned unchanged except,
// on Windows, cleaned (with backslashes); "" stays "".
func resolvePath(goos, dir, p string) string {
	if p == "" {
		return ""
	}
	if goos != "windows" {
		if strings.HasPrefix(p, "/") {
			return p
		}
		return path.Join(dir, p)
	}
	q := strings.ReplaceAll(p, "/", `\`)
	vol, rest := splitVolume(q)
	switch {
	case vol != "" && (strings.HasPrefix(rest, `\`) || isUNC(q)):
		return cleanWindows(vol, rest)
	case vol != "": // "C:x", relative to drive C's current folder: CheckFolder refuses it
		return p
	case vol == "" && strings.HasPrefix(rest, `\`): // rooted on dir's drive
		dvol, _ := splitVolume(strings.ReplaceAll(dir, "/", `\`))
		return cleanWindows(dvol, rest)
	}
	d := strings.ReplaceAll(dir, "/", `\`)
	dvol, drest := splitVolume(d)
	return cleanWindows(dvol, drest+`\`+rest)
}

// checkFolder is CheckFolder for goos.
func checkFolder(goos, p string) error {
	if p == "" {
		return nil
	}
	if strings.ContainsRune(p, 0) {
		return errors.New("contains a NUL character")
	}
	if goos != "windows" {
		return nil
	}
	q := strings.ReplaceAll(p, "/", `\`)
	switch {
	case strings.HasPrefix(q, `\\.\`) || strings.HasPrefix(q, `\\?\`):
		return fmt.Errorf("%q: write the folder without the %s prefix (long paths work as they are)", p, q[:4])
	case isUNC(q):
		parts := strings.Split(q[2:], `\`)
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
			return fmt.Errorf(`%q: a network path names a server and a share: \\server\share\folder`, p)
		}
	}
	vol, rest := splitVolume(q)
	if len(vol) == 2 && rest != "" && !strings.HasPrefix(rest, `\`) {
		return fmt.Errorf(`%q is relative to the current folder of drive %s; write %s\%s`, p, vol, vol, rest)
	}
	for _, el := range strings.Split(rest, `\`) {
		if i := strings.IndexAny(el, `<>:"|?*`); i >= 0 {
			return fmt.Errorf("%q: Windows does not allow %q in a file or folder name", p, el[i])
		}
		for _, r := range el {
			if r < 32 {
				return fmt.Errorf("%q: contains a control character", p)
			}
		}
		if reservedWindowsName(el) {
			return fmt.Errorf("%q: %q is a device name on Windows, not a folder", p, el)
		}
	}
	return nil
}

// isNetworkPath is IsNetworkFolder for goos.
func isNetworkPath(goos, p string) bool {
	if goos != "windows" {
		return false
	}
	q := strings.ReplaceAll(p, "/", `\`)
	if strings.HasPrefix(q, `\\?\`) || strings.HasPrefix(q, `\\.\`) {
		return strings.HasPrefix(strings.ToUpper(q), `\\?\UNC\`)
	}
	return isUNC(q)
}

// isUNC reports whether q (backslashes) starts with \\server.
func isUNC(q string) bool {
	return len(q) > 2 && strings.HasPrefix(q, `\\`) && q[2] != '\\'
}

// splitVolume splits a Windows path (backslashes) into its volume ("C:",
// `\\server\share`, or "") and the rest.
func splitVolume(q string) (vol, rest string) {
	if len(q) >= 2 && q[1] == ':' && isLetter(q[0]) {
		return q[:2], q[2:]
	}
	if isUNC(q) {
		parts := strings.SplitN(q[2:], `\`, 3)
		switch len(parts) {
		case 1:
			return q, ""
		case 2:
			return q, ""
		}
		return `\\` + parts[0] + `\` + parts[1], `\` + parts[2]
	}
	return "", q
}

// cleanWindows joins vol and a cleaned rest (no "." or ".." left; ".."
// never climbs above the volume's root).
func cleanWindows(vol, rest string) string {
	c := path.Clean("/" + strings.ReplaceAll(rest, `\`, "/"))
	c = strings.ReplaceAll(c, "/", `\`)
	if c == `\` && isUNC(vol) {
		return vol
	}
	return vol + c
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// reservedWindowsName reports whether el is a DOS device name (CON, NUL,
// COM1, ...), with or without an extension.
func reservedWindowsName(el string) bool {
	base, _, _ := strings.Cut(strings.ToUpper(strings.TrimRight(el, ". ")), ".")
	switch base {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && base[3] >= '1' && base[3] <= '9' {
		return true
	}
	return false
}
