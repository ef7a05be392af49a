package mapping

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseDecimal(t *testing.T) {
	cases := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1234.5", 1234.5, true}, {"1234,5", 1234.5, true}, {"1.234,56", 1234.56, true}, {"1,234.56", 1234.56, true},
		{"-23,5505", -23.5505, true}, {"-23.5505", -23.5505, true}, {" 12 ", 12, true}, {"1 234,5", 1234.5, true},
		{"1.234.567", 1234567, true}, {"1,234,567", 1234567, true}, {"1.5E+3", 1500, true}, {",5", 0.5, true},
		{"+7", 7, true}, {"", 0, false}, {"abc", 0, false}, {"1,2,3", 0, false}, {"1.2.3,4.5", 0, false},
		{"NaN", 0, false}, {"Inf", 0, false}, {"0x10", 0, false}, {"1_000", 0, false}, {"--1", 0, false}, {"-", 0, false},
	}
	for _, c := range cases {
		got, err := ParseDecimal(c.in)
		if (err == nil) != c.ok || (c.ok && math.Abs(got-c.want) > 1e-9) {
			t.Errorf("ParseDecimal(%q) = %v, %v; want %v ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestParseInteger(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1234", 1234, true}, {"1.234", 1234, true}, {"1234,0", 1234, true}, {"1.2345E+5", 123450, true},
		{"-5", -5, true}, {"12.5", 0, false}, {"24O203", 0, false}, {"", 0, false}, {"99999999999999999999", 0, false},
	}
	for _, c := range cases {
		got, err := ParseInteger(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseInteger(%q) = %v, %v; want %v ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestParseDateText(t *testing.T) {
	sp, _ := time.LoadLocation("America/Sao_Paulo")
	d := func(y, m, day, h, min int) time.Time { return time.Date(y, time.Month(m), day, h, min, 0, 0, sp) }
	cases := []struct {
		in         string
		monthFirst bool
		want       time.Time
		err        error
	}{
		{"05/03/2024", false, d(2024, 3, 5, 0, 0), nil},
		{"5/3/24", false, d(2024, 3, 5, 0, 0), nil},
		{"05/03/2024 14:30", false, d(2024, 3, 5, 14, 30), nil},
		{"05-03-2024 14:30:00", false, d(2024, 3, 5, 14, 30), nil},
		{"05.03.2024", false, d(2024, 3, 5, 0, 0), nil},
		{"05/03/2024 14h30", false, d(2024, 3, 5, 14, 30), nil},
		{"03/05/2024", true, d(2024, 3, 5, 0, 0), nil},
		{"2024-03-05", false, d(2024, 3, 5, 0, 0), nil},
		{"2024-03-05T14:30", false, d(2024, 3, 5, 14, 30), nil},
		{"2024-03-05 14:30:00", false, d(2024, 3, 5, 14, 30), nil},
		{"2024-03-05T17:30:00Z", false, d(2024, 3, 5, 14, 30), nil},
		{"2024/03/05", false, d(2024, 3, 5, 0, 0), nil},
		{"45356", false, d(2024, 3, 5, 0, 0), nil},
		{"45356.604166666664", false, d(2024, 3, 5, 14, 30), nil},
		{"31/02/2024", false, time.Time{}, errBadDate},
		{"32/01/2024", false, time.Time{}, errBadDate},
		{"05/13/2024", false, time.Time{}, errBadDate},
		{"05/03/2024 25:00", false, time.Time{}, errBadDate},
		{"amanhã", false, time.Time{}, errNotDate},
		{"05/03", false, time.Time{}, errNotDate},
		{"", false, time.Time{}, errNotDate},
		{"-5", false, time.Time{}, errNotDate},
	}
	for _, c := range cases {
		got, err := ParseDateText(c.in, sp, c.monthFirst)
		if err != c.err || !got.Equal(c.want) {
			t.Errorf("ParseDateText(%q) = %v, %v; want %v, %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestExcelTime(t *testing.T) {
	cases := []struct {
		serial   float64
		date1904 bool
		want     string
	}{
		{1, false, "1900-01-01 00:00"}, {59, false, "1900-02-28 00:00"}, {61, false, "1900-03-01 00:00"},
		{45356.5, false, "2024-03-05 12:00"}, {45292.999305555555, false, "2024-01-01 23:59"},
		{0, true, "1904-01-01 00:00"}, {43894.5, true, "2024-03-05 12:00"},
	}
	for _, c := range cases {
		got, err := ExcelTime(c.serial, c.date1904, time.UTC)
		if err != nil || got.Format("2006-01-02 15:04") != c.want {
			t.Errorf("ExcelTime(%v, %v) = %v, %v; want %s", c.serial, c.date1904, got, err, c.want)
		}
	}
	if _, err := ExcelTime(60, false, time.UTC); err == nil {
		t.Error("serial 60 (29 Feb 1900) accepted")
	}
}

func TestParseLatLng(t *testing.T) {
	cases := []struct {
		in       string
		lat, lng float64
		err      error
	}{
		{"-23.5505, -46.6333", -23.5505, -46.6333, nil},
		{"-23,5505, -46,6333", -23.5505, -46.6333, nil},
		{"-23,5505; -46,6333", -23.5505, -46.6333, nil},
		{"-23,5505,-46,6333", -23.5505, -46.6333, nil},
		{"-23.5505 -46.6333", -23.5505, -46.6333, nil},
		{"-23.5505,-46.6333", -23.5505, -46.6333, nil},
		{"(-23.5505, -46.6333)", -23.5505, -46.6333, nil},
		{"0,0", 0, 0, nil},
		{"-146.6, -23.5", 0, 0, errLatRange},
		{"-23.5, -246.6", 0, 0, errLngRange},
		{"-23.5505", 0, 0, errNotCoords},
		{"perto da praça", 0, 0, errNotCoords},
	}
	for _, c := range cases {
		lat, lng, err := ParseLatLng(c.in)
		if err != c.err || lat != c.lat || lng != c.lng {
			t.Errorf("ParseLatLng(%q) = %v, %v, %v; want %v, %v, %v", c.in, lat, lng, err, c.lat, c.lng, c.err)
		}
	}
}

func TestParsePhone(t *testing.T) {
	cases := map[string]string{
		"(11) 98765-4321": "11987654321", "+55 11 91234-5678": "+5511912345678", "11 3456-7890": "1134567890",
		"1.1987654321E10": "11987654321", "123": "", "11 9876-abcd": "", "": "", "1234567890123456": "",
	}
	for in, want := range cases {
		got, err := ParsePhone(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("ParsePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseBoolAndEmail(t *testing.T) {
	for in, want := range map[string]bool{"Sim": true, "não": false, "NAO": false, "x": true, "yes": true, "0": false, "Verdadeiro": true} {
		if got, err := ParseBool(in); err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseBool("talvez"); err == nil {
		t.Error("ParseBool accepted talvez")
	}
	for in, ok := range map[string]bool{"ana@exemplo.com.br": true, "ana@exemplo": false, "@x.com": false, "a b@x.com": false, "a@b@c.com": false, "a@x.": false} {
		if (CheckEmail(in) == nil) != ok {
			t.Errorf("CheckEmail(%q) ok=%v", in, !ok)
		}
	}
}

func TestGoLayout(t *testing.T) {
	cases := map[string]string{"yyyyMMddHHmm": "200601021504", "dd/MM/yyyy HH:mm:ss": "02/01/2006 15:04:05", "yyyy-MM-ddTHH:mm": ""}
	for in, want := range cases {
		got, err := GoLayout(in)
		if want == "" {
			if err == nil {
				t.Errorf("GoLayout(%q) accepted: %q", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("GoLayout(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestDateFormatterMatchesTimeFormat(t *testing.T) {
	sp, _ := time.LoadLocation("America/Sao_Paulo")
	times := []time.Time{time.Date(2024, 3, 5, 14, 30, 9, 0, sp), time.Date(1999, 12, 31, 0, 0, 0, 0, sp), time.Date(2000, 1, 1, 23, 59, 59, 0, time.UTC)}
	for _, p := range []string{"yyyyMMddHHmm", "dd/MM/yyyy HH:mm:ss", "yy-MM-dd", "yyyy-MM-ddTHH:mm"} {
		f, ok := newDateFormatter(p)
		layout, err := GoLayout(p)
		if p == "yyyy-MM-ddTHH:mm" {
			if ok || err == nil {
				t.Errorf("%q accepted", p)
			}
			continue
		}
		if !ok || err != nil {
			t.Fatalf("%q: %v %v", p, ok, err)
		}
		for _, tm := range times {
			if got, want := f.format(tm), tm.Format(layout); got != want {
				t.Errorf("%q: %q, want %q", p, got, want)
			}
		}
	}
}

func TestNormalizeHeader(t *testing.T) {
	same := [][]string{
		{"Nº OS", "N° da OS", "numero os", "Número da OS", "N. OS", "nº-os"},
		{"Data Agendada", "data  agendada", "DATA_AGENDADA", "Data agendada:"},
		{"E-mail", "email", "E mail"},
		{"Endereço", "endereco", "ENDEREÇO"},
	}
	for _, group := range same {
		want := NormalizeHeader(group[0])
		for _, h := range group[1:] {
			if got := NormalizeHeader(h); got != want {
				t.Errorf("NormalizeHeader(%q) = %q, want %q (as %q)", h, got, want, group[0])
			}
		}
	}
	if NormalizeHeader("Nº OS") == NormalizeHeader("Número") {
		t.Error(`"Nº OS" and "Número" must differ`)
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"1.234,56", "-23,5505", "1,234.56", "1e5", "", " 7 ", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseDecimal(s)
		if err != nil {
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("ParseDecimal(%q) = %v", s, v)
		}
		// What we send must read back as the same number.
		back, err := ParseDecimal(strconv.FormatFloat(v, 'f', -1, 64))
		if err != nil || back != v {
			t.Fatalf("round trip of %q: %v → %v, %v", s, v, back, err)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"05/03/2024 14:30", "2024-03-05T14:30:00Z", "45356.5", "31/02/2024", "5/3/24", "14h30"} {
		f.Add(s, false)
	}
	sp, _ := time.LoadLocation("America/Sao_Paulo")
	f.Fuzz(func(t *testing.T, s string, monthFirst bool) {
		v, err := ParseDateText(s, sp, monthFirst)
		if err != nil {
			if err != errNotDate && err != errBadDate {
				t.Fatalf("ParseDateText(%q): unexpected error %v", s, err)
			}
			return
		}
		if v.Year() < 1899 || v.Year() > 9999 {
			t.Fatalf("ParseDateText(%q) = %v: year out of range", s, v)
		}
		layout, _ := GoLayout(DefaultDateFormat)
		if out := v.Format(layout); len(out) != 12 {
			t.Fatalf("formatted %q", out)
		}
	})
}

func FuzzParseLatLng(f *testing.F) {
	for _, s := range []string{"-23.5505, -46.6333", "-23,5505; -46,6333", "-23,5505,-46,6333", "0 0", "1,2,3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lat, lng, err := ParseLatLng(s)
		if err != nil {
			return
		}
		if lat < -90 || lat > 90 || lng < -180 || lng > 180 || math.IsNaN(lat) || math.IsNaN(lng) {
			t.Fatalf("ParseLatLng(%q) = %v, %v", s, lat, lng)
		}
	})
}

func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"(11) 98765-4321", "+55 11 91234-5678", "1.1987654321E10", "123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePhone(s)
		if err != nil {
			return
		}
		digits := strings.TrimPrefix(p, "+")
		if len(digits) < 8 || len(digits) > 15 || !allDigits(digits) {
			t.Fatalf("ParsePhone(%q) = %q", s, p)
		}
	})
}
