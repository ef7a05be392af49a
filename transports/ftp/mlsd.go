package ftp

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"time"
)

// rawListing records the bytes of a listing's data connection while on:
// the MLSD facts jlaffaye/ftp drops (see Fs.list) are read from them. A
// session is used by one goroutine at a time, and the data connection of a
// listing is dialled on that goroutine, so on needs no lock.
type rawListing struct {
	on  bool
	buf bytes.Buffer
}

func (r *rawListing) start() {
	r.buf.Reset()
	r.on = true
}

func (r *rawListing) stop() []byte {
	r.on = false
	return r.buf.Bytes()
}

// recordConn copies what is read from a data connection into to.
type recordConn struct {
	net.Conn
	to *bytes.Buffer
}

func (c *recordConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.to.Write(p[:n])
	return n, err
}

// mlsdEntry is one MLSD line (RFC 3659 section 7): the facts that decide
// whether an entry may be taken, its size and time, and how precise that
// time is.
type mlsdEntry struct {
	name string
	typ  string // the "type" fact, lower case ("file", "dir", "os.unix=symlink")
	size int64
	time time.Time
	prec time.Duration // of the "modify" fact: a second, or its fraction's unit
}

// regular reports whether the entry is a plain file or a folder.
func (e mlsdEntry) regular() bool {
	switch e.typ {
	case "file", "dir":
		return true
	}
	return false
}

// parseMLSD reads raw MLSD lines ("fact=value;fact=value; name"). Lines
// that are not fact lines are left out, and so are the current and parent
// folder ("cdir", "pdir"). The name is everything after the first space,
// as RFC 3659 has it. Times are UTC; a fractional "modify"
// ("20261206133005.250") is kept with its precision.
func parseMLSD(raw []byte) []mlsdEntry {
	var out []mlsdEntry
	for len(raw) > 0 {
		var line []byte
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			line, raw = raw, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		sp := bytes.IndexByte(line, ' ')
		if sp < 1 || line[sp-1] != ';' || sp == len(line)-1 {
			continue
		}
		e := mlsdEntry{name: string(line[sp+1:]), prec: time.Second}
		for _, f := range strings.Split(string(line[:sp-1]), ";") {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			switch strings.ToLower(k) {
			case "type":
				e.typ = strings.ToLower(v)
			case "size":
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
					e.size = n
				}
			case "modify":
				whole, frac, _ := strings.Cut(v, ".")
				t, err := time.ParseInLocation("20060102150405", whole, time.UTC)
				if err != nil {
					continue
				}
				if n := min(len(frac), 9); n > 0 {
					if ns, err := strconv.Atoi(frac[:n]); err == nil {
						p := time.Second
						for range n {
							p /= 10
						}
						e.prec = p
						t = t.Add(time.Duration(ns) * p)
					}
				}
				e.time = t
			}
		}
		if e.typ == "cdir" || e.typ == "pdir" {
			continue
		}
		out = append(out, e)
	}
	return out
}
