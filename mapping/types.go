package mapping

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Parse errors; each has a message in the tables (see messages.go).
var (
	errNotNumber   = errors.New("not a number")
	errNotInteger  = errors.New("not a whole number")
	errNotDate     = errors.New("not a date")
	errBadDate     = errors.New("impossible date")
	errNotCoords   = errors.New("not coordinates")
	errLatRange    = errors.New("latitude out of range")
	errLngRange    = errors.New("longitude out of range")
	errNotPhone    = errors.New("not a phone number")
	errNotEmail    = errors.New("not an e-mail address")
	errNotBool     = errors.New("not yes/no")
	errOutOfBounds = errors.New("number too large")
)

// ParseDecimal reads a number as people type it: "1234.5", "1234,5",
// "1.234,56", "1,234.56", "-23,5505", " 12 ", "1 234,5", "1.5E+3".
// When both '.' and ',' appear, the last one is the decimal separator; a
// lone ',' is a decimal comma; several of one kind are thousands separators.
func ParseDecimal(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errNotNumber
	}
	// Plain Go syntax first (what number cells hold).
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, errNotNumber
		}
		if strings.ContainsAny(s, "xXpP_nNiI") { // hex floats, underscores, NaN, Inf
			return 0, errNotNumber
		}
		// "1.234" is ambiguous; it reads as one point two three four
		// (Go syntax, what number cells hold). Thousands need two groups
		// ("1.234.567") or a decimal comma ("1.234,5").
		return f, nil
	}
	var b strings.Builder
	for _, r := range s {
		if r == ' ' || r == '\u00a0' || r == '\u202f' {
			continue
		}
		b.WriteRune(r)
	}
	s = b.String()
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	if s == "" {
		return 0, errNotNumber
	}
	dots, commas := strings.Count(s, "."), strings.Count(s, ",")
	lastDot, lastComma := strings.LastIndexByte(s, '.'), strings.LastIndexByte(s, ',')
	var intPart, frac string
	switch {
	case dots > 0 && commas > 0:
		if lastComma > lastDot { // 1.234,56
			if commas > 1 || !isThousandsGrouped(s[:lastComma], '.') {
				return 0, errNotNumber
			}
			intPart, frac = strings.ReplaceAll(s[:lastComma], ".", ""), s[lastComma+1:]
		} else { // 1,234.56
			if dots > 1 || !isThousandsGrouped(s[:lastDot], ',') {
				return 0, errNotNumber
			}
			intPart, frac = strings.ReplaceAll(s[:lastDot], ",", ""), s[lastDot+1:]
		}
	case commas == 1:
		intPart, frac = s[:lastComma], s[lastComma+1:]
	case commas > 1:
		if !isThousandsGrouped(s, ',') {
			return 0, errNotNumber
		}
		intPart = strings.ReplaceAll(s, ",", "")
	case dots > 1:
		if !isThousandsGrouped(s, '.') {
			return 0, errNotNumber
		}
		intPart = strings.ReplaceAll(s, ".", "")
	default:
		return 0, errNotNumber
	}
	if intPart == "" && frac == "" {
		return 0, errNotNumber
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return 0, errNotNumber
	}
	num := intPart
	if num == "" {
		num = "0"
	}
	if frac != "" {
		num += "." + frac
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, errNotNumber
	}
	if neg {
		f = -f
	}
	return f, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isThousandsGrouped reports whether s is digits grouped by sep in threes:
// "1.234.567".
func isThousandsGrouped(s string, sep byte) bool {
	parts := strings.Split(s, string(sep))
	if len(parts[0]) == 0 || len(parts[0]) > 3 || !allDigits(parts[0]) {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) != 3 || !allDigits(p) {
			return false
		}
	}
	return true
}

// ParseInteger reads a whole number: "1234", "1.234" (thousands), "1234,0",
// or a number cell's "1234" / "1.234E+3".
func ParseInteger(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	t := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if strings.Count(t, ".") >= 1 && !strings.Contains(t, ",") && isThousandsGrouped(t, '.') {
		n, err := strconv.ParseInt(strings.ReplaceAll(s, ".", ""), 10, 64)
		if err == nil {
			return n, nil
		}
		return 0, errOutOfBounds
	}
	f, err := ParseDecimal(s)
	if err != nil {
		return 0, errNotInteger
	}
	if f != math.Trunc(f) {
		return 0, errNotInteger
	}
	if math.Abs(f) >= 1<<53 {
		return 0, errOutOfBounds
	}
	return int64(f), nil
}

// ExcelTime converts an Excel serial date (days since 1899-12-30, or since
// 1904-01-01 in the 1904 system) to a wall-clock time in loc.
func ExcelTime(serial float64, date1904 bool, loc *time.Location) (time.Time, error) {
	if math.IsNaN(serial) || serial < 0 || serial > 2958466 { // 9999-12-31
		return time.Time{}, errBadDate
	}
	if date1904 {
		serial += 1462
	}
	days := math.Floor(serial)
	frac := serial - days
	// Round to the nearest second: 0.5 ms of float noise must not turn
	// 10:00 into 09:59:59.
	secs := int(math.Round(frac * 86400))
	d := int64(days)
	if d < 61 && !date1904 {
		// Excel believes 1900 was a leap year: serials 1..60 are off by one.
		if d == 60 {
			return time.Time{}, errBadDate // 29 Feb 1900 never existed
		}
		d++
	}
	// Civil date from the day count (UTC arithmetic, no zone lookups),
	// then one time.Date in loc.
	y, mo, dd := time.Unix((d-25569)*86400, 0).UTC().Date()
	return time.Date(y, mo, dd, secs/3600, secs/60%60, secs%60, 0, loc), nil
}

// ParseDateText reads a date (and optional time) as people type it, in loc:
// "dd/mm/yyyy", "d/m/yy", "dd-mm-yyyy", "dd.mm.yyyy", each optionally
// followed by "hh:mm" or "hh:mm:ss"; ISO "yyyy-mm-dd", "yyyy-mm-ddThh:mm[:ss][Z|±hh:mm]";
// or an Excel serial number ("45234" or "45234.5"). monthFirst reads
// "mm/dd/yyyy" instead.
func ParseDateText(s string, loc *time.Location, monthFirst bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errNotDate
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "eExXpP_") {
		if f >= 1 && f < 2958466 {
			return ExcelTime(f, false, loc)
		}
		return time.Time{}, errNotDate
	}
	// ISO forms with an offset.
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return checkYear(t.In(loc))
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04",
		"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return checkYear(t)
		}
	}
	// d/m/y [h:m[:s]]
	datePart, timePart := s, ""
	if i := strings.IndexAny(s, " T"); i > 0 {
		datePart, timePart = s[:i], strings.TrimSpace(s[i+1:])
	}
	sep := byte(0)
	for _, c := range []byte{'/', '-', '.'} {
		if strings.Count(datePart, string(c)) == 2 {
			sep = c
			break
		}
	}
	if sep == 0 {
		return time.Time{}, errNotDate
	}
	parts := strings.Split(datePart, string(sep))
	nums := [3]int{}
	for i, p := range parts {
		if p == "" || len(p) > 4 || !allDigits(p) {
			return time.Time{}, errNotDate
		}
		nums[i], _ = strconv.Atoi(p)
	}
	var d, m, y int
	switch {
	case len(parts[0]) == 4: // yyyy/mm/dd
		y, m, d = nums[0], nums[1], nums[2]
	case monthFirst:
		m, d, y = nums[0], nums[1], nums[2]
	default:
		d, m, y = nums[0], nums[1], nums[2]
	}
	if len(parts[2]) == 2 && len(parts[0]) != 4 {
		if y < 70 {
			y += 2000
		} else {
			y += 1900
		}
	} else if len(parts[2]) != 4 && len(parts[0]) != 4 {
		return time.Time{}, errNotDate
	}
	hh, mm, ss := 0, 0, 0
	if timePart != "" {
		tp := strings.TrimSuffix(strings.ToLower(timePart), "h")
		tparts := strings.Split(tp, ":")
		if len(tparts) == 1 {
			tparts = strings.Split(tp, "h") // "14h30"
		}
		if len(tparts) < 2 || len(tparts) > 3 {
			return time.Time{}, errNotDate
		}
		var vals [3]int
		for i, p := range tparts {
			if p == "" && i == 1 {
				p = "0"
			}
			if p == "" || len(p) > 2 || !allDigits(p) {
				return time.Time{}, errNotDate
			}
			vals[i], _ = strconv.Atoi(p)
		}
		hh, mm, ss = vals[0], vals[1], vals[2]
		if hh > 23 || mm > 59 || ss > 59 {
			return time.Time{}, errBadDate
		}
	}
	if m < 1 || m > 12 || d < 1 || d > 31 || y < 1900 || y > 9999 {
		return time.Time{}, errBadDate
	}
	t := time.Date(y, time.Month(m), d, hh, mm, ss, 0, loc)
	if t.Day() != d || int(t.Month()) != m {
		return time.Time{}, errBadDate // 31/02
	}
	return t, nil
}

func checkYear(t time.Time) (time.Time, error) {
	if t.Year() < 1900 || t.Year() > 9999 {
		return time.Time{}, errBadDate
	}
	return t, nil
}

// GoLayout converts a .NET-style date pattern ("yyyyMMddHHmm",
// "dd/MM/yyyy HH:mm:ss") to a Go time layout.
func GoLayout(pattern string) (string, error) {
	tokens := []struct{ in, out string }{
		{"yyyy", "2006"}, {"yy", "06"}, {"MM", "01"}, {"dd", "02"}, {"HH", "15"},
		{"hh", "03"}, {"mm", "04"}, {"ss", "05"}, {"fff", "000"}, {"tt", "PM"},
	}
	var b strings.Builder
	for i := 0; i < len(pattern); {
		matched := false
		for _, t := range tokens {
			if strings.HasPrefix(pattern[i:], t.in) {
				b.WriteString(t.out)
				i += len(t.in)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		c := pattern[i]
		if unicode.IsLetter(rune(c)) {
			return "", errors.New("unknown letter " + strconv.QuoteRune(rune(c)) + " in date format")
		}
		if c >= '0' && c <= '9' {
			return "", errors.New("digits are not allowed in a date format")
		}
		b.WriteByte(c)
		i++
	}
	if b.Len() == 0 {
		return "", errors.New("empty date format")
	}
	return b.String(), nil
}

// dateFormatter formats times by a .NET-style pattern made only of
// yyyy, yy, MM, dd, HH, mm, ss and punctuation, without time.Format's
// generality (it is on the hot path of every dated row).
type dateFormatter struct {
	parts []datePart
}

type datePart struct {
	kind byte // 'y' (4), 'Y' (2), 'M', 'd', 'H', 'm', 's', or 0 for lit
	lit  string
}

func newDateFormatter(pattern string) (*dateFormatter, bool) {
	tokens := []struct {
		in   string
		kind byte
	}{{"yyyy", 'y'}, {"yy", 'Y'}, {"MM", 'M'}, {"dd", 'd'}, {"HH", 'H'}, {"mm", 'm'}, {"ss", 's'}}
	f := &dateFormatter{}
	for i := 0; i < len(pattern); {
		matched := false
		for _, t := range tokens {
			if strings.HasPrefix(pattern[i:], t.in) {
				f.parts = append(f.parts, datePart{kind: t.kind})
				i += len(t.in)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		c := pattern[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80 {
			return nil, false
		}
		f.parts = append(f.parts, datePart{lit: string(c)})
		i++
	}
	return f, true
}

func (f *dateFormatter) format(t time.Time) string {
	var buf [32]byte
	b := buf[:0]
	two := func(b []byte, n int) []byte { return append(b, byte('0'+n/10%10), byte('0'+n%10)) }
	for _, p := range f.parts {
		switch p.kind {
		case 'y':
			y := t.Year()
			b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
		case 'Y':
			b = two(b, t.Year()%100)
		case 'M':
			b = two(b, int(t.Month()))
		case 'd':
			b = two(b, t.Day())
		case 'H':
			b = two(b, t.Hour())
		case 'm':
			b = two(b, t.Minute())
		case 's':
			b = two(b, t.Second())
		default:
			b = append(b, p.lit...)
		}
	}
	return string(b)
}

// ParseCoordinate reads one latitude or longitude: "-23,5505", "-23.5505".
func ParseCoordinate(s string, lat bool) (float64, error) {
	f, err := ParseDecimal(s)
	if err != nil {
		return 0, errNotCoords
	}
	return f, checkCoord(f, lat)
}

func checkCoord(f float64, lat bool) error {
	if lat && (f < -90 || f > 90) {
		return errLatRange
	}
	if !lat && (f < -180 || f > 180) {
		return errLngRange
	}
	return nil
}

// ParseLatLng reads "lat, lng" from one cell: "-23.5505, -46.6333",
// "-23,5505, -46,6333", "-23,5505; -46,6333", "-23.5505 -46.6333".
func ParseLatLng(s string) (lat, lng float64, err error) {
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "()[]"))
	var a, b string
	switch {
	case strings.Count(s, ";") == 1:
		a, b, _ = strings.Cut(s, ";")
	case strings.Count(s, ", ") == 1 && strings.Count(s, ",") <= 3:
		a, b, _ = strings.Cut(s, ", ")
	case !strings.Contains(s, ",") || strings.Contains(s, ".") && strings.Count(s, ",") == 1:
		if strings.Count(s, ",") == 1 {
			a, b, _ = strings.Cut(s, ",")
		} else {
			f := strings.Fields(s)
			if len(f) != 2 {
				return 0, 0, errNotCoords
			}
			a, b = f[0], f[1]
		}
	case strings.Count(s, ",") == 1 && !strings.Contains(s, "."):
		a, b, _ = strings.Cut(s, ",")
	case strings.Count(s, ",") == 3 && !strings.Contains(s, "."):
		// "-23,5505,-46,6333": the middle comma separates.
		idx := 0
		for i, n := 0, 0; i < len(s); i++ {
			if s[i] == ',' {
				n++
				if n == 2 {
					idx = i
					break
				}
			}
		}
		a, b = s[:idx], s[idx+1:]
	case strings.Count(s, ",") == 2 && len(strings.Fields(s)) == 2:
		f := strings.Fields(s)
		a, b = strings.TrimSuffix(f[0], ","), strings.TrimPrefix(f[1], ",")
	default:
		return 0, 0, errNotCoords
	}
	if lat, err = ParseCoordinate(a, true); err != nil {
		return 0, 0, err
	}
	if lng, err = ParseCoordinate(b, false); err != nil {
		return 0, 0, err
	}
	return lat, lng, nil
}

// ParsePhone keeps a phone number's digits (and a leading +): "(11)
// 98765-4321" → "11987654321". It must have 8 to 15 digits. A number cell
// holding "1.1987654321E10" is read as the number it is.
func ParsePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "eE") {
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && f > 0 && f < 1e16 {
			s = strconv.FormatFloat(f, 'f', 0, 64)
		}
	}
	var buf [32]byte
	b := buf[:0] // digits and '+' only: ASCII
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b = append(b, byte(r))
			digits++
		case r == '+' && i == 0:
			b = append(b, '+')
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '/' || r == '\u00a0':
		default:
			return "", errNotPhone
		}
	}
	if digits < 8 || digits > 15 {
		return "", errNotPhone
	}
	if len(b) == len(s) {
		return s, nil // nothing dropped
	}
	return string(b), nil
}

// ParseBool reads yes/no in Portuguese, Spanish and English.
func ParseBool(s string) (bool, error) {
	switch StripAccents(strings.ToLower(strings.TrimSpace(s))) {
	case "1", "sim", "s", "si", "yes", "y", "true", "verdadeiro", "verdadero", "x", "v":
		return true, nil
	case "0", "nao", "n", "no", "false", "falso", "f":
		return false, nil
	}
	return false, errNotBool
}

// CheckEmail accepts name@domain.tld (no spaces, one @).
func CheckEmail(s string) error {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || strings.ContainsAny(s, " \t,;<>") {
		return errNotEmail
	}
	dom := s[at+1:]
	if dot := strings.LastIndexByte(dom, '.'); dot <= 0 || dot == len(dom)-1 {
		return errNotEmail
	}
	return nil
}
