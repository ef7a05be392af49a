package sheet

import "strings"

// builtinFormats are the number formats every workbook has without
// declaring them (ECMA-376 part 1, 18.8.30), the date ones among them.
var builtinFormats = map[int]string{
	0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00",
	9: "0%", 10: "0.00%", 11: "0.00E+00", 12: "# ?/?", 13: "# ??/??",
	14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy",
	18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss",
	22: "m/d/yy h:mm", 37: "#,##0 ;(#,##0)", 38: "#,##0 ;[Red](#,##0)",
	39: "#,##0.00;(#,##0.00)", 40: "#,##0.00;[Red](#,##0.00)",
	45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0", 48: "##0.0E+0", 49: "@",
}

// isDateFormat reports whether a number format shows a date or a time:
// a custom format by its code, a built-in one by its id.
func isDateFormat(id int, code string, custom bool) bool {
	if custom {
		return IsDateFormatCode(code)
	}
	return id >= 14 && id <= 22 || id >= 45 && id <= 47 ||
		id >= 27 && id <= 36 || id >= 50 && id <= 58 // locale (CJK) date formats
}

// IsDateFormatCode reports whether a format code such as "dd/mm/yyyy hh:mm"
// formats a date or time: it holds d, m, y, h or s outside quoted text,
// escapes and bracketed colours/conditions.
func IsDateFormatCode(code string) bool {
	if strings.EqualFold(code, "General") {
		return false
	}
	// Only the first section (positive numbers) matters.
	inQuote := false
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case inQuote:
			if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '\\' || c == '_' || c == '*':
			i++
		case c == '[':
			end := strings.IndexByte(code[i:], ']')
			if end < 0 {
				return false
			}
			inner := strings.ToLower(code[i+1 : i+end])
			if inner == "h" || inner == "hh" || inner == "m" || inner == "mm" || inner == "s" || inner == "ss" {
				return true
			}
			i += end
		case c == ';':
			return false
		default:
			switch c | 0x20 {
			case 'd', 'm', 'y', 'h', 's':
				return true
			}
		}
	}
	return false
}
