package sms

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of Normalize, matched with errors.Is.
var (
	// ErrInvalidNumber: the text is not a phone number of the country.
	ErrInvalidNumber = errors.New("not a phone number")
	// ErrNotMobile: a valid number that cannot receive an SMS (a landline).
	ErrNotMobile = errors.New("not a mobile number")
)

// maxPhoneText bounds what Normalize reads (a number with its spaces,
// dashes and brackets is far shorter).
const maxPhoneText = 40

// Normalize turns a phone number as a person writes it ("+55 48 99876-5432",
// "(48) 99876-5432", "048 99876 5432", "0015 48 998765432") into E.164
// ("+5548998765432"). country is the calling code of numbers written
// without one ("55"). Spaces, dashes, dots, slashes and brackets are
// ignored; a leading "+" or "00" starts an international number; any
// other character makes the text invalid.
//
// Numbers of Brazil (55), Chile (56), Peru (51), Colombia (57), Mexico (52),
// Argentina (54) and the NANP (1) are checked against their mobile plans
// (a Brazilian landline is ErrNotMobile); others only for their length.
func Normalize(phone, country string) (string, error) {
	if len(phone) > maxPhoneText {
		return "", fmt.Errorf("%w: too long", ErrInvalidNumber)
	}
	country = strings.TrimPrefix(strings.TrimSpace(country), "+")
	if country == "" || !allDigits(country) || len(country) > 3 {
		return "", fmt.Errorf("%w: the default calling code %q is not 1 to 3 digits", ErrInvalidNumber, country)
	}
	var b strings.Builder
	intl := false
	for i, r := range strings.TrimSpace(phone) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			intl = true
		case r == ' ' || r == '-' || r == '.' || r == '/' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return "", fmt.Errorf("%w: it holds %q", ErrInvalidNumber, r)
		}
	}
	d := b.String()
	if !intl && strings.HasPrefix(d, "00") {
		// 00 (international prefix), or 00 + a Brazilian carrier code
		// ("0015 48 …", "0021 …"): with a carrier code the rest is national.
		rest := d[2:]
		if country == "55" && len(rest) == 13 && !strings.HasPrefix(rest, "55") {
			d = rest[2:]
		} else {
			d, intl = rest, true
		}
	}
	if !intl {
		d = national(d, country)
		d = country + d
	}
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", fmt.Errorf("%w: %d digits", ErrInvalidNumber, len(d))
	}
	if err := checkPlan(d); err != nil {
		return "", err
	}
	return "+" + d, nil
}

// national strips the trunk prefix (and a Brazilian carrier code) from a
// number written without its calling code, and the calling code when it
// was written without "+".
func national(d, country string) string {
	switch country {
	case "55":
		switch {
		case len(d) == 13 && strings.HasPrefix(d, "55"): // 55 48 998765432 without +
			return d[2:]
		case len(d) == 14 && d[0] == '0': // 0 XX 48 998765432 (carrier code)
			return d[3:]
		case len(d) == 12 && d[0] == '0': // 0 48 998765432
			return d[1:]
		case len(d) == 11 && d[0] == '0': // 0 48 98765432 (landline)
			return d[1:]
		}
	default:
		if strings.HasPrefix(d, country) && len(d) >= len(country)+8 {
			return d[len(country):]
		}
	}
	return strings.TrimLeft(d, "0")
}

// checkPlan checks d (calling code and number, digits only) against the
// numbering plans known here.
func checkPlan(d string) error {
	cc, n := splitCountry(d)
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrInvalidNumber, why) }
	switch cc {
	case "55": // area code (11–99, no 0) + 9 + 8 digits; landlines have 8
		if len(n) < 10 || len(n) > 11 || n[0] == '0' || n[1] == '0' {
			return bad("a Brazilian number has an area code and 8 or 9 digits")
		}
		if len(n) == 10 || n[2] != '9' {
			return fmt.Errorf("%w: a landline", ErrNotMobile)
		}
	case "56", "51": // Chile, Peru: 9 digits, mobiles start with 9
		if len(n) != 9 {
			return bad("9 digits expected")
		}
		if n[0] != '9' {
			return fmt.Errorf("%w: mobiles start with 9", ErrNotMobile)
		}
	case "57": // Colombia: 10 digits, mobiles start with 3
		if len(n) != 10 {
			return bad("10 digits expected")
		}
		if n[0] != '3' {
			return fmt.Errorf("%w: mobiles start with 3", ErrNotMobile)
		}
	case "52", "1": // Mexico, NANP: 10 digits
		if len(n) != 10 {
			return bad("10 digits expected")
		}
	case "54": // Argentina: mobiles are +54 9 + 10 digits
		if len(n) != 11 || n[0] != '9' {
			return fmt.Errorf("%w: an Argentine mobile is +54 9 and 10 digits", ErrNotMobile)
		}
	}
	return nil
}

// callingCodes are the codes splitCountry recognises; others are taken
// as two digits (most of the world's), which only affects masking.
var callingCodes = map[string]bool{
	"1": true, "7": true, "20": true, "27": true, "30": true, "31": true, "32": true, "33": true, "34": true,
	"36": true, "39": true, "40": true, "41": true, "43": true, "44": true, "45": true, "46": true, "47": true,
	"48": true, "49": true, "51": true, "52": true, "53": true, "54": true, "55": true, "56": true, "57": true,
	"58": true, "60": true, "61": true, "62": true, "63": true, "64": true, "65": true, "66": true, "81": true,
	"82": true, "84": true, "86": true, "90": true, "91": true, "92": true, "93": true, "94": true, "95": true,
	"98": true, "351": true, "352": true, "353": true, "502": true, "503": true, "504": true, "505": true,
	"506": true, "507": true, "509": true, "591": true, "593": true, "595": true, "597": true, "598": true,
}

func splitCountry(d string) (cc, n string) {
	for _, l := range []int{1, 3, 2} {
		if len(d) > l && callingCodes[d[:l]] {
			return d[:l], d[l:]
		}
	}
	if len(d) > 2 {
		return d[:2], d[2:]
	}
	return d, ""
}

// Mask hides a number in E.164 for logs, answers and pages, keeping what
// a person needs to recognise their own: a Brazilian mobile becomes
// "(48) 9****-5432", others "+56 9****-5432". Text that is not a
// normalized number becomes "****".
func Mask(e164 string) string {
	d := strings.TrimPrefix(e164, "+")
	if len(d) < 8 || !allDigits(d) {
		return "****"
	}
	cc, n := splitCountry(d)
	if len(n) < 6 {
		return "****"
	}
	last := n[len(n)-4:]
	if cc == "55" && len(n) >= 10 {
		return "(" + n[:2] + ") " + n[2:3] + "****-" + last
	}
	return "+" + cc + " " + n[:1] + "****-" + last
}

// Digits is the number without its "+", as Zenvia wants it.
func Digits(e164 string) string { return strings.TrimPrefix(e164, "+") }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
