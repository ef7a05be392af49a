package sheet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// odsXML walks content.xml for the ODS reader with the fast scanner of
// scan.go: start and end tags, whose names are matched by namespace (the
// prefixes declared with xmlns:…, which OpenDocument writers put on the
// root element), and the character data of paragraphs.
type odsXML struct {
	s       *scanner
	ns      map[string]string // prefix → namespace, as declared
	t       tag               // the tag just read
	pendEnd bool              // t closed itself: its end comes next
	raw     []byte            // character data spanning refills
	text    []byte            // decoded character data
	// open holds the qualified names of the open elements, one after the
	// other; ends the lengths of the names before each one.
	open []byte
	ends []int
}

// errODSMarkup is a content.xml that is not well-formed XML.
var errODSMarkup = errors.New("malformed OpenDocument XML")

// Kinds of the items next returns.
const (
	odsStart = iota
	odsEnd
	odsText
)

// next returns the next start tag, end tag or (with text) character data;
// io.EOF at the end of the document.
func (x *odsXML) next(text bool) (int, error) {
	if x.pendEnd {
		x.pendEnd = false
		return odsEnd, nil
	}
	s := x.s
	for {
		// Character data up to the next '<'.
		x.raw = x.raw[:0]
		var seg []byte
		for {
			if i := bytes.IndexByte(s.buf[s.pos:s.end], '<'); i >= 0 {
				seg = s.buf[s.pos : s.pos+i]
				s.pos += i
				break
			}
			x.raw = append(x.raw, s.buf[s.pos:s.end]...)
			s.pos = s.end
			if !s.fill() {
				return 0, s.eofErr()
			}
		}
		if len(x.raw) > 0 {
			seg = append(x.raw, seg...)
			x.raw = seg
		}
		if len(seg) > 0 && (text || bytes.IndexByte(seg, '&') >= 0) {
			// Decoded when asked for, checked (entities) when not.
			var err error
			if x.text, err = decodeText(x.text[:0], seg); err != nil {
				return 0, err
			}
			if text {
				return odsText, nil
			}
		}
		s.pos++ // the '<'
		t, err := s.readTag()
		if err != nil {
			return 0, err
		}
		if text && t.special && bytes.HasPrefix(t.raw, []byte("![CDATA[")) {
			x.text = appendCR(x.text[:0], t.raw[8:len(t.raw)-2])
			return odsText, nil
		}
		k, ok, err := x.took(t)
		if err != nil {
			return 0, err
		}
		if ok {
			return k, nil
		}
	}
}

// took makes t the current tag, after checking it as an XML parser would
// (attribute syntax, end tags matching their start); false for a comment
// or processing instruction.
func (x *odsXML) took(t tag) (int, bool, error) {
	if t.special {
		return 0, false, nil
	}
	b := t.raw
	if t.end {
		b = b[1:]
	}
	qname := b[:t.attrsStart-(len(t.raw)-len(b))]
	if !xmlQName(qname) || bytes.IndexByte(t.raw, '<') >= 0 {
		return 0, false, errODSMarkup
	}
	x.t = t
	if t.end {
		for _, c := range t.raw[t.attrsStart:] {
			if !isSpace(c) {
				return 0, false, errODSMarkup
			}
		}
		n := len(x.ends)
		if n == 0 || !bytes.Equal(x.open[x.ends[n-1]:], qname) {
			return 0, false, fmt.Errorf("%w: </%s> does not close the open element", errODSMarkup, qname)
		}
		x.open, x.ends = x.open[:x.ends[n-1]], x.ends[:n-1]
		return odsEnd, true, nil
	}
	// Every attribute well-formed, up to the end (or the "/" of a
	// self-closing tag); namespace declarations noted.
	i := t.attrsStart
	for {
		prefix, name, val, next, ok := nextAttrNS(t.raw, i)
		if !ok {
			break
		}
		if !xmlName(name) || (prefix != nil && !xmlName(prefix)) {
			return 0, false, errODSMarkup
		}
		if bytes.IndexByte(val, '&') >= 0 {
			if _, err := decodeText(x.text[:0], val); err != nil {
				return 0, false, err
			}
		}
		if p, ok := nsDeclared(prefix, name); ok {
			x.ns[p] = string(val)
		}
		i = next
	}
	for _, c := range t.raw[i:] {
		if !isSpace(c) && c != '/' {
			return 0, false, errODSMarkup
		}
	}
	x.pendEnd = t.selfClose
	if !t.selfClose {
		x.ends = append(x.ends, len(x.open))
		x.open = append(x.open, qname...)
	}
	return odsStart, true, nil
}

// nsDeclared reports whether attribute prefix:name declares a namespace,
// and for which prefix ("" for the default namespace).
func nsDeclared(prefix, name []byte) (string, bool) {
	switch {
	case string(prefix) == "xmlns":
		return string(name), true
	case prefix == nil && string(name) == "xmlns":
		return "", true
	}
	return "", false
}

// xmlName reports whether b is an XML name without a colon (a prefix or
// a local name): letters, digits, '-', '_', '.' and any non-ASCII
// character, not starting with a digit, '-' or '.'.
func xmlName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c >= utf8.RuneSelf:
		case c >= '0' && c <= '9', c == '-', c == '.':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// xmlQName reports whether b is a name with at most one prefix.
func xmlQName(b []byte) bool {
	prefix, local, found := bytes.Cut(b, []byte{':'})
	if !found {
		return xmlName(b)
	}
	return xmlName(prefix) && xmlName(local)
}

// is reports whether the current tag is ns:local.
func (x *odsXML) is(ns, local string) bool {
	return string(x.t.name) == local && x.space() == ns
}

// space is the namespace of the current tag.
func (x *odsXML) space() string {
	b := x.t.raw
	if x.t.end {
		b = b[1:]
	}
	if i := bytes.IndexByte(b, ':'); i >= 0 && i < len(b)-len(x.t.name) {
		return x.ns[string(b[:i])]
	}
	return x.ns[""]
}

// attrs calls fn with each attribute of the current start tag: its
// namespace, local name and raw value (see attrValue), valid until the
// next read.
func (x *odsXML) attrs(fn func(ns string, name, val []byte)) {
	for i := x.t.attrsStart; ; {
		prefix, name, val, next, ok := nextAttrNS(x.t.raw, i)
		if !ok {
			return
		}
		i = next
		if prefix == nil || string(prefix) == "xmlns" {
			continue // unprefixed attributes have no namespace
		}
		fn(x.ns[string(prefix)], name, val)
	}
}

// attr returns the value of attribute ns:local of the current start tag.
func (x *odsXML) attr(ns, local string) (string, bool) {
	var out string
	found := false
	x.attrs(func(n string, name, val []byte) {
		if !found && n == ns && string(name) == local {
			out, found = attrValue(val), true
		}
	})
	return out, found
}

// skip skips the element whose start tag was just read, to its end.
func (x *odsXML) skip() error {
	for depth := 0; ; {
		k, err := x.next(false)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		switch k {
		case odsStart:
			depth++
		case odsEnd:
			if depth == 0 {
				return nil
			}
			depth--
		}
	}
}

// xmlChars fails a read on bytes that XML does not allow in a document:
// invalid UTF-8, and control characters other than tab, line feed and
// carriage return. The bytes before the first such one are handed on
// with the error, none after it.
type xmlChars struct {
	r     io.Reader
	carry [utf8.UTFMax]byte // the start of a character cut by the last read
	nc    int
}

func (c *xmlChars) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	b := p[:n]
	i := 0
	if c.nc > 0 {
		// Complete the character the last read cut.
		var buf [2 * utf8.UTFMax]byte
		k := copy(buf[:], c.carry[:c.nc])
		k += copy(buf[k:], b)
		r, size := utf8.DecodeRune(buf[:k])
		switch {
		case r == utf8.RuneError && size <= 1 && !utf8.FullRune(buf[:k]) && err == nil:
			m := copy(c.carry[c.nc:], b)
			c.nc += m
			return n, nil
		case r == utf8.RuneError && size <= 1, !isXMLChar(r):
			return 0, fmt.Errorf("%w: a character XML does not allow", errODSMarkup)
		}
		i = size - c.nc
		c.nc = 0
	}
	for i < len(b) {
		ch := b[i]
		if ch < utf8.RuneSelf {
			if ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' {
				return i, fmt.Errorf("%w: control character %#x", errODSMarkup, ch)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			if !utf8.FullRune(b[i:]) && err == nil {
				c.nc = copy(c.carry[:], b[i:])
				return n, nil
			}
			return i, fmt.Errorf("%w: invalid UTF-8", errODSMarkup)
		}
		if !isXMLChar(r) {
			return i, fmt.Errorf("%w: character %U", errODSMarkup, r)
		}
		i += size
	}
	if err == io.EOF && c.nc > 0 {
		return n, fmt.Errorf("%w: invalid UTF-8 at the end", errODSMarkup)
	}
	return n, err
}
