package sheet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
)

// This file reads the Compound File Binary container (MS-CFB, "OLE2") that
// legacy Excel workbooks, and password-protected OOXML ones, are stored in:
// the header, the sector allocation table, the directory, and any stream's
// chain of sectors. Nothing is trusted: every sector number is checked
// against the file's size, chains may not loop, and a stream is read
// through its chain on demand (only the chain's sector numbers, at most one
// per 512 bytes of the file, are held in memory).

// errCFB is the cause of every malformed-container error.
var errCFB = errors.New("malformed compound file")

const (
	cfbFreeSect   = 0xFFFFFFFF
	cfbEndOfChain = 0xFFFFFFFE
	cfbFATSect    = 0xFFFFFFFD
	cfbDIFATSect  = 0xFFFFFFFC
	cfbNoStream   = 0xFFFFFFFF
	cfbMaxRegSect = 0xFFFFFFFA
)

// cfbFile is an opened compound file.
type cfbFile struct {
	r          io.ReaderAt
	size       int64
	sectorSize int64
	fat        []uint32
	miniFAT    []uint32
	miniCutoff int64
	dir        []cfbEntry
	ministream *cfbStream // the root entry's stream, holding the small streams
}

// cfbEntry is one directory entry.
type cfbEntry struct {
	name         string
	typ          byte // 1 storage, 2 stream, 5 root
	left, right  uint32
	child        uint32
	start        uint32
	streamSize   int64
	visitedInDir bool
}

func cfbErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errCFB, fmt.Sprintf(format, args...))
}

// openCFB reads the header, allocation tables and directory of the
// compound file r of the given size.
func openCFB(r io.ReaderAt, size int64) (*cfbFile, error) {
	var h [512]byte
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, cfbErr("header: %v", err)
	}
	le := binary.LittleEndian
	if string(h[:8]) != string(oleMagic) {
		return nil, cfbErr("no signature")
	}
	if le.Uint16(h[28:]) != 0xFFFE {
		return nil, cfbErr("byte order mark")
	}
	shift := le.Uint16(h[30:])
	if shift != 9 && shift != 12 {
		return nil, cfbErr("sector size 2^%d", shift)
	}
	c := &cfbFile{r: r, size: size, sectorSize: 1 << shift, miniCutoff: int64(le.Uint32(h[56:]))}
	if c.miniCutoff != 4096 {
		c.miniCutoff = 4096 // the only value the specification allows
	}
	nSectors := (size + c.sectorSize - 1) / c.sectorSize // an upper bound of the sectors
	numFAT := int64(le.Uint32(h[44:]))
	if numFAT > nSectors {
		return nil, cfbErr("%d FAT sectors in a file of %d", numFAT, nSectors)
	}
	// The DIFAT: 109 entries in the header, then a chain of DIFAT sectors.
	difat := make([]uint32, 0, min(numFAT, 109))
	for i := 0; i < 109 && int64(len(difat)) < numFAT; i++ {
		difat = append(difat, le.Uint32(h[76+4*i:]))
	}
	next := le.Uint32(h[68:])
	per := c.sectorSize/4 - 1
	buf := make([]byte, c.sectorSize)
	for hops := int64(0); int64(len(difat)) < numFAT; hops++ {
		if next > cfbMaxRegSect || hops > nSectors {
			return nil, cfbErr("DIFAT chain")
		}
		if err := c.readSector(next, buf); err != nil {
			return nil, err
		}
		for i := int64(0); i < per && int64(len(difat)) < numFAT; i++ {
			difat = append(difat, le.Uint32(buf[4*i:]))
		}
		next = le.Uint32(buf[4*per:])
	}
	c.fat = make([]uint32, 0, numFAT*c.sectorSize/4)
	for _, s := range difat {
		if err := c.readSector(s, buf); err != nil {
			return nil, err
		}
		for i := int64(0); i < c.sectorSize/4; i++ {
			c.fat = append(c.fat, le.Uint32(buf[4*i:]))
		}
	}
	// The directory.
	dirStream, err := c.chain(le.Uint32(h[48:]), -1)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	dirBytes := int64(len(dirStream.sectors)) * c.sectorSize
	if dirBytes/128 > 1<<20 {
		return nil, cfbErr("directory of %d entries", dirBytes/128)
	}
	ent := make([]byte, 128)
	for off := int64(0); off+128 <= dirBytes; off += 128 {
		if _, err := dirStream.ReadAt(ent, off); err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		n := int(le.Uint16(ent[64:]))
		if n > 64 {
			n = 64
		}
		u := make([]uint16, 0, 32)
		for i := 0; i+1 < n; i += 2 {
			if v := le.Uint16(ent[i:]); v != 0 {
				u = append(u, v)
			}
		}
		e := cfbEntry{
			name:  string(utf16.Decode(u)),
			typ:   ent[66],
			left:  le.Uint32(ent[68:]),
			right: le.Uint32(ent[72:]),
			child: le.Uint32(ent[76:]),
			start: le.Uint32(ent[116:]),
		}
		e.streamSize = int64(le.Uint64(ent[120:]))
		if c.sectorSize == 512 {
			e.streamSize &= 0xFFFFFFFF // version 3 files may leave junk in the high half
		}
		c.dir = append(c.dir, e)
	}
	if len(c.dir) == 0 || c.dir[0].typ != 5 {
		return nil, cfbErr("no root entry")
	}
	// The mini stream and its allocation table, for streams under 4096 bytes.
	root := c.dir[0]
	if root.start <= cfbMaxRegSect && root.streamSize > 0 {
		if c.ministream, err = c.chain(root.start, root.streamSize); err != nil {
			return nil, fmt.Errorf("mini stream: %w", err)
		}
		if mf := le.Uint32(h[60:]); mf <= cfbMaxRegSect {
			ms, err := c.chain(mf, -1)
			if err != nil {
				return nil, fmt.Errorf("mini FAT: %w", err)
			}
			raw := make([]byte, int64(len(ms.sectors))*c.sectorSize)
			if _, err := ms.ReadAt(raw, 0); err != nil {
				return nil, fmt.Errorf("mini FAT: %w", err)
			}
			for i := 0; i+4 <= len(raw); i += 4 {
				c.miniFAT = append(c.miniFAT, le.Uint32(raw[i:]))
			}
		}
	}
	return c, nil
}

// readSector reads sector s whole into buf.
func (c *cfbFile) readSector(s uint32, buf []byte) error {
	if s > cfbMaxRegSect {
		return cfbErr("sector %#x", s)
	}
	off := (int64(s) + 1) * c.sectorSize
	if off+c.sectorSize > c.size {
		// The last sector may be cut short by a writer; a sector that
		// starts beyond the end is a truncated file.
		if off >= c.size {
			return fmt.Errorf("sector %d beyond the end of the file: %w", s, io.ErrUnexpectedEOF)
		}
		clear(buf)
		_, err := c.r.ReadAt(buf[:c.size-off], off)
		return err
	}
	_, err := c.r.ReadAt(buf, off)
	return err
}

// chain follows the FAT from sector start and returns the stream of its
// sectors; size < 0 takes every sector of the chain.
func (c *cfbFile) chain(start uint32, size int64) (*cfbStream, error) {
	var sectors []uint32
	seen := make([]bool, len(c.fat))
	for s := start; s != cfbEndOfChain; {
		if s > cfbMaxRegSect || int64(s) >= int64(len(c.fat)) || seen[s] {
			return nil, cfbErr("sector chain at %#x", s)
		}
		seen[s] = true
		sectors = append(sectors, s)
		if size >= 0 && int64(len(sectors))*c.sectorSize >= size {
			break
		}
		s = c.fat[s]
	}
	total := int64(len(sectors)) * c.sectorSize
	if size < 0 {
		size = total
	}
	if size > total {
		return nil, fmt.Errorf("stream of %d bytes in %d sectors: %w", size, len(sectors), io.ErrUnexpectedEOF)
	}
	return &cfbStream{c: c, sectors: sectors, unit: c.sectorSize, size: size}, nil
}

// miniChain follows the mini FAT from mini sector start.
func (c *cfbFile) miniChain(start uint32, size int64) (*cfbStream, error) {
	if c.ministream == nil {
		return nil, cfbErr("small stream without a mini stream")
	}
	var sectors []uint32
	seen := make([]bool, len(c.miniFAT))
	for s := start; s != cfbEndOfChain && int64(len(sectors))*64 < size; {
		if int64(s) >= int64(len(c.miniFAT)) || seen[s] || int64(s)*64 >= c.ministream.size {
			return nil, cfbErr("mini sector chain at %#x", s)
		}
		seen[s] = true
		sectors = append(sectors, s)
		s = c.miniFAT[s]
	}
	if int64(len(sectors))*64 < size {
		return nil, fmt.Errorf("small stream of %d bytes in %d mini sectors: %w", size, len(sectors), io.ErrUnexpectedEOF)
	}
	return &cfbStream{c: c, sectors: sectors, unit: 64, size: size, mini: true}, nil
}

// find returns the stream or storage named name among the root storage's
// children (names compare ignoring ASCII case, as the specification says).
func (c *cfbFile) find(name string) (*cfbEntry, bool) {
	stack := []uint32{c.dir[0].child}
	for i := range c.dir {
		c.dir[i].visitedInDir = false
	}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if id == cfbNoStream || int(id) >= len(c.dir) || c.dir[id].visitedInDir {
			continue
		}
		e := &c.dir[id]
		e.visitedInDir = true
		if equalFoldASCII(e.name, name) {
			return e, true
		}
		stack = append(stack, e.left, e.right)
	}
	return nil, false
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// open returns a stream entry's data.
func (c *cfbFile) open(e *cfbEntry) (*cfbStream, error) {
	if e.typ != 2 {
		return nil, cfbErr("%q is not a stream", e.name)
	}
	if e.streamSize < 0 || e.streamSize > c.size {
		return nil, cfbErr("stream %q of %d bytes in a file of %d", e.name, e.streamSize, c.size)
	}
	if e.streamSize < c.miniCutoff {
		return c.miniChain(e.start, e.streamSize)
	}
	return c.chain(e.start, e.streamSize)
}

// cfbStream is a stream's bytes: an io.ReaderAt over its sectors.
type cfbStream struct {
	c       *cfbFile
	sectors []uint32
	unit    int64 // sector size (64 in the mini stream)
	size    int64
	mini    bool
}

// ReadAt reads from the stream at off, sector by sector.
func (s *cfbStream) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, cfbErr("negative offset")
	}
	n := 0
	for n < len(p) {
		if off >= s.size {
			return n, io.EOF
		}
		i := off / s.unit
		within := off % s.unit
		k := min(int64(len(p)-n), s.unit-within, s.size-off)
		if s.mini {
			m, err := s.c.ministream.ReadAt(p[n:n+int(k)], int64(s.sectors[i])*64+within)
			if int64(m) < k {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n + m, err
			}
		} else {
			pos := (int64(s.sectors[i])+1)*s.unit + within
			if pos+k > s.c.size {
				return n, fmt.Errorf("sector %d beyond the end of the file: %w", s.sectors[i], io.ErrUnexpectedEOF)
			}
			if m, err := s.c.r.ReadAt(p[n:n+int(k)], pos); int64(m) < k {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n + m, err
			}
		}
		n += int(k)
		off += k
	}
	return n, nil
}
