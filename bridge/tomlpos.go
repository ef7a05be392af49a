package bridge

import (
	"strconv"
	"strings"
)

// keyLines finds the line of every key and table header of a TOML document,
// which BurntSushi/toml does not expose. Paths are dotted, with "#i" after
// the i-th (0-based) element of an array of tables: "job#1.schedule",
// "connections.ftp1.host", "log". It understands what fieldbridge configs
// use (tables, arrays of tables, dotted and quoted keys, multi-line strings
// and arrays); keys inside inline tables get the line of their parent.
type keyLines map[string]int

// line returns the line of path or of its nearest ancestor; 0 if none.
// An element of an inline array ("columns#2", not a [[table]]) has the
// line of the array.
func (kl keyLines) line(path string) int {
	for {
		if n, ok := kl[path]; ok {
			return n
		}
		if i := strings.LastIndexByte(path, '#'); i > strings.LastIndexByte(path, '.') {
			path = path[:i]
			continue
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
}

func scanKeyLines(doc string) keyLines {
	kl := keyLines{}
	arrays := map[string]int{} // array-of-tables path -> count so far
	table := ""                // current table path (with #i indices)
	lines := strings.Split(doc, "\n")
	// state carried across lines
	var (
		inMultiStr string // `"""` or `'''` when inside a multi-line string
		depth      int    // open [ or { of a value spanning lines
	)
	for i, raw := range lines {
		lineNo := i + 1
		s := raw
		if inMultiStr != "" || depth > 0 {
			inMultiStr, depth = skipValue(s, inMultiStr, depth)
			continue
		}
		t := strings.TrimSpace(s)
		if t == "" || t[0] == '#' {
			continue
		}
		if strings.HasPrefix(t, "[[") {
			end := strings.Index(t, "]]")
			if end < 0 {
				continue
			}
			name := joinKey(parseKey(t[2:end]))
			// An array of tables nested in the current array element.
			full := resolveTable(name, arrays)
			n := arrays[full]
			arrays[full] = n + 1
			table = full + "#" + strconv.Itoa(n)
			kl[table] = lineNo
			if _, ok := kl[full]; !ok {
				kl[full] = lineNo
			}
			continue
		}
		if t[0] == '[' {
			end := strings.IndexByte(t, ']')
			if end < 0 {
				continue
			}
			table = resolveTable(joinKey(parseKey(t[1:end])), arrays)
			kl[table] = lineNo
			continue
		}
		// key = value
		eq := keyEnd(t)
		if eq < 0 {
			continue
		}
		parts := parseKey(t[:eq])
		path := table
		for _, p := range parts {
			if path == "" {
				path = p
			} else {
				path += "." + p
			}
			if _, ok := kl[path]; !ok {
				kl[path] = lineNo
			}
		}
		inMultiStr, depth = skipValue(t[eq+1:], "", 0)
	}
	return kl
}

// resolveTable maps a header name to its indexed path: "job.mapping" inside
// the second [[job]] becomes "job#1.mapping".
func resolveTable(name string, arrays map[string]int) string {
	parts := strings.Split(name, ".")
	out := ""
	for i, p := range parts {
		if out == "" {
			out = p
		} else {
			out += "." + p
		}
		if i < len(parts)-1 {
			if n, ok := arrays[out]; ok && n > 0 {
				out += "#" + strconv.Itoa(n-1)
			}
		}
	}
	return out
}

// keyEnd returns the index of the '=' that ends the key part of t, or -1.
func keyEnd(t string) int {
	var q byte
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case q != 0:
			if c == '\\' && q == '"' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '=':
			return i
		case c == '#':
			return -1
		}
	}
	return -1
}

// parseKey splits a (possibly dotted, possibly quoted) key into its parts.
func parseKey(k string) []string {
	var (
		parts []string
		cur   strings.Builder
		q     byte
	)
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case q != 0:
			if c == '\\' && q == '"' && i+1 < len(k) {
				i++
				cur.WriteByte(k[i])
			} else if c == q {
				q = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			q = c
		case c == '.':
			parts = append(parts, strings.TrimSpace(cur.String()))
			cur.Reset()
		case c == ' ' || c == '\t':
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, strings.TrimSpace(cur.String()))
}

func joinKey(parts []string) string { return strings.Join(parts, ".") }

// skipValue scans (part of) a value and returns whether a multi-line string
// or bracket is still open at the end of the line.
func skipValue(s, inMulti string, depth int) (string, int) {
	for i := 0; i < len(s); i++ {
		if inMulti != "" {
			if strings.HasPrefix(s[i:], inMulti) {
				i += len(inMulti) - 1
				inMulti = ""
			} else if inMulti == `"""` && s[i] == '\\' {
				i++
			}
			continue
		}
		c := s[i]
		switch {
		case strings.HasPrefix(s[i:], `"""`) || strings.HasPrefix(s[i:], `'''`):
			inMulti = s[i : i+3]
			i += 2
		case c == '"' || c == '\'':
			// single-line string
			for i++; i < len(s); i++ {
				if c == '"' && s[i] == '\\' {
					i++
				} else if s[i] == c {
					break
				}
			}
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
		case c == '#':
			return inMulti, depth
		}
	}
	return inMulti, depth
}
