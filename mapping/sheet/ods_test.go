package sheet

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// odsDoc is a content.xml with one table whose first row is cells.
func odsDoc(cells string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:t="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="A"><table:table-row>` +
		cells + `</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>`)
}

// readODS reads the first table of an ODS made of content and returns its
// first row's cell values, or the error.
func readODS(t *testing.T, content []byte) ([]string, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.ods")
	if err := os.WriteFile(p, odsZip(t, content), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p, Options{})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := f.Rows("")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	if rows.Next() {
		for _, c := range rows.Row().Cells {
			out = append(out, c.Value)
		}
	}
	return out, rows.Err()
}

// The ODS reader reads cells by namespace, not by prefix, with entities,
// CDATA, comments and white-space elements as XML and ODF define them.
func TestODSCells(t *testing.T) {
	tests := []struct {
		name, cells string
		want        []string
	}{
		{"text", `<table:table-cell><text:p>Ana</text:p></table:table-cell>`, []string{"Ana"}},
		{"another prefix, same namespace", `<table:table-cell><t:p>Bia</t:p></table:table-cell>`, []string{"Bia"}},
		{"entities and CDATA", `<table:table-cell><text:p>a &amp; b &#x41;<![CDATA[<c>]]></text:p></table:table-cell>`, []string{"a & b A<c>"}},
		{"comment inside", `<table:table-cell><text:p>x<!-- no -->y</text:p></table:table-cell>`, []string{"xy"}},
		{"spaces, tab, line break", `<table:table-cell><text:p>a<text:s text:c="2"/>b<text:tab/>c<text:line-break/>d</text:p></table:table-cell>`, []string{"a  b\tc\nd"}},
		{"number", `<table:table-cell office:value-type="float" office:value="2.5"><text:p>2,5</text:p></table:table-cell>`, []string{"2.5"}},
		{"repeated, covered", `<table:table-cell table:number-columns-repeated="2" office:value-type="float" office:value="1"/><table:covered-table-cell/><table:table-cell><text:p>z</text:p></table:table-cell>`, []string{"1", "1", "", "z"}},
		{"attribute in single quotes with entity", `<table:table-cell office:value-type='string' office:string-value='a&apos;b'/>`, []string{"a'b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readODS(t, odsDoc(tt.cells))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("cells %q, want %q", got, tt.want)
			}
		})
	}
}

// What is not well-formed XML is refused as a damaged file, as an XML
// parser would, wherever it is (in a cell or in markup that is skipped).
func TestODSMalformed(t *testing.T) {
	tests := []struct{ name, cells string }{
		{"end tag that does not match", `<table:table-cell><text:p>a</text:span></table:table-cell>`},
		{"invalid UTF-8", "<table:table-cell><text:p>a\xc0b</text:p></table:table-cell>"},
		{"control character", "<table:table-cell><text:p>a\x01b</text:p></table:table-cell>"},
		{"attribute without a value", `<table:table-cell office:value-type><text:p>a</text:p></table:table-cell>`},
		{"attribute without quotes", `<table:table-cell office:value-type=float><text:p>a</text:p></table:table-cell>`},
		{"'<' in an attribute", `<table:table-cell office:string-value="a<b"/>`},
		{"bad name", `<table:table-cell><text:p>a</text:p></table:table-cell><table:-x/>`},
		{"two colons", `<table:table-cell><a:b:c/></table:table-cell>`},
		{"unknown entity in skipped text", `<table:table-cell><text:p>a</text:p></table:table-cell>&bogus;`},
		{"unknown entity in an unused attribute", `<table:table-cell table:style-name="&bogus;"><text:p>a</text:p></table:table-cell>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readODS(t, odsDoc(tt.cells))
			var se *Error
			if !errors.As(err, &se) || se.Kind != ErrCorrupt {
				t.Fatalf("cells %q, error %v; want a damaged file", got, err)
			}
		})
	}
}

// xmlChars takes characters cut across reads, and refuses invalid ones
// however the bytes arrive.
func TestXMLChars(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"São Paulo 中文 😀\t\r\n", true},
		{"a\xc3", false},         // cut at the end
		{"a\xc3(b", false},       // not a continuation byte
		{"a\x00b", false},        // NUL
		{"a\uFFFEb", false},      // not an XML character
		{"a\xed\xa0\x80", false}, // a surrogate
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(&xmlChars{r: r})
			if (err == nil) != tt.ok {
				t.Errorf("%q (one byte at a time %v): error %v, want ok %v", tt.in, oneByte, err, tt.ok)
			}
			if tt.ok && string(got) != tt.in {
				t.Errorf("%q read as %q", tt.in, got)
			}
		}
	}
}

// Tables are listed and read by namespace: a writer may bind the table
// namespace to another prefix, or the prefix "table" to another
// namespace.
func TestODSTablesByNamespace(t *testing.T) {
	const office = `xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"`
	tests := []struct {
		name, doc string
		sheets    []string
		first     string
	}{
		{"another prefix", `<office:document-content ` + office + ` xmlns:tb="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body><office:spreadsheet>` +
			`<tb:table tb:name="Tarefas"><tb:table-row><tb:table-cell><text:p>Ana</text:p></tb:table-cell></tb:table-row></tb:table>` +
			`<tb:table tb:name="Outra"/></office:spreadsheet></office:body></office:document-content>`,
			[]string{"Tarefas", "Outra"}, "Ana"},
		{"the table prefix bound elsewhere", `<office:document-content ` + office + ` xmlns:table="urn:example:not-odf" xmlns:t="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body><office:spreadsheet>` +
			`<table:table table:name="Foreign"/>` +
			`<t:table t:name="Real"><t:table-row><t:table-cell><text:p>Bia</text:p></t:table-cell></t:table-row></t:table>` +
			`</office:spreadsheet></office:body></office:document-content>`,
			[]string{"Real"}, "Bia"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f.ods")
			if err := os.WriteFile(p, odsZip(t, []byte(tt.doc)), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := Open(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if strings.Join(f.Sheets, "|") != strings.Join(tt.sheets, "|") {
				t.Errorf("tables %q, want %q", f.Sheets, tt.sheets)
			}
			rows, err := f.Rows("")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			if !rows.Next() || len(rows.Row().Cells) == 0 || rows.Row().Cells[0].Value != tt.first {
				t.Errorf("first row of the first table: %v, %v; want %q", rows.Row(), rows.Err(), tt.first)
			}
		})
	}
}
