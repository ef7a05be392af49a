package sheet

import (
	"fmt"
	"os"
	"testing"
)

func TestZZDump(t *testing.T) {
	p := os.Getenv("DUMP")
	if p == "" {
		t.Skip()
	}
	f, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Println(f.Format, f.Sheets, f.Date1904())
	for _, s := range f.Sheets {
		rows, err := f.Rows(s)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("==", s)
		for rows.Next() {
			r := rows.Row()
			fmt.Printf("%d:", r.Num)
			for _, c := range r.Cells {
				fmt.Printf(" [%d %q %q]", c.Kind, c.Value, c.Format)
			}
			fmt.Println()
		}
		fmt.Println("err:", rows.Err())
		rows.Close()
	}
}
