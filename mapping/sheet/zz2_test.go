package sheet

import (
	"fmt"
	"os"
	"testing"
)

func TestZZRecords(t *testing.T) {
	p := os.Getenv("DUMP")
	if p == "" {
		t.Skip()
	}
	fh, _ := os.Open(p)
	st, _ := fh.Stat()
	c, err := openCFB(fh, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	e, _ := c.find("Workbook")
	s, err := c.open(e)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("stream", s.size, s.mini)
	r := newBIFFReader(s, 0)
	for i := 0; ; i++ {
		pos := r.pos
		if err := r.next(); err != nil {
			fmt.Println(err)
			break
		}
		if r.typ == recSST || r.typ == recContinue || r.typ == recBoundSheet || r.typ == recBOF || r.typ == recEOF || r.typ == recLabel || r.typ == recString {
			fmt.Printf("%d %#x len %d\n", pos, r.typ, len(r.data))
		}
	}
}

func TestZZSST(t *testing.T) {
	p := os.Getenv("DUMP")
	if p == "" {
		t.Skip()
	}
	fh, _ := os.Open(p)
	st, _ := fh.Stat()
	c, _ := openCFB(fh, st.Size())
	e, _ := c.find("Workbook")
	s, _ := c.open(e)
	r := newBIFFReader(s, int64(sstOff()))
	r.next()
	fmt.Println("total", r.data[:8])
	unique := int(r.data[4]) | int(r.data[5])<<8
	r.off = 8
	var arena []byte
	var scratch []byte
	for i := 0; i < unique; i++ {
		if r.off == len(r.data) {
			if !r.peekContinue() {
				fmt.Println("break at", i)
				break
			}
			r.next()
		}
		before := r.pos
		off := r.off
		p, _ := r.take(2, scratch)
		cch := int(p[0]) | int(p[1])<<8
		var err error
		n := len(arena)
		arena, err = r.unicodeString(arena, cch, 1<<20, &scratch)
		if err != nil || cch > 100 {
			fmt.Println(i, "cch", cch, "at", before, off, "->", r.pos, r.off, err, len(arena)-n)
		}
		if err != nil {
			break
		}
	}
}

func sstOff() int {
	var n int
	fmt.Sscan(os.Getenv("SSTOFF"), &n)
	return n
}
