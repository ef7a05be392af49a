package mapping

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/mapping/sheet"
)

// This file is the data side of drafting a mapping: what the values under
// a header say about the field it holds (dates, phone numbers, postal
// codes, coordinates, e-mail addresses, whole numbers, state codes).

// profile counts, for one column's sample values, how many fit each kind.
type profile struct {
	n                                    int // non-empty values
	date, integer, decimal, phone, email int
	lat, lng, latlng, cep, zip, uf, bool int
	letters                              int // values with at least one letter
	digits                               int // values with at least one digit
	fraction                             int // decimals with 3+ digits after the point
	values                               []string
}

var (
	cepExp = regexp.MustCompile(`^\d{5}-?\d{3}$`)
	// zipExp matches the postal codes of the US, Mexico, Chile, Argentina and the UK.
	zipExp = regexp.MustCompile(`^(\d{5}(-\d{4})?|\d{7}|\d{4}|[A-Z]\d{4}[A-Z]{3}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})$`)
	// ufs are Brazil's state codes.
	ufs = map[string]bool{"AC": true, "AL": true, "AP": true, "AM": true, "BA": true, "CE": true, "DF": true, "ES": true, "GO": true,
		"MA": true, "MT": true, "MS": true, "MG": true, "PA": true, "PB": true, "PR": true, "PE": true, "PI": true, "RJ": true,
		"RN": true, "RS": true, "RO": true, "RR": true, "SC": true, "SP": true, "SE": true, "TO": true}
)

// profileColumn reads the sample values of column col.
func profileColumn(col int, samples []sheet.Row, date1904 bool) profile {
	var p profile
	for _, r := range samples {
		c := r.Cell(col)
		v := strings.TrimSpace(c.Value)
		if v == "" {
			continue
		}
		p.n++
		p.values = append(p.values, v)
		if strings.ContainsAny(v, "0123456789") {
			p.digits++
		}
		text := cellText(c, date1904)
		if c.Kind == sheet.Date || c.Kind == sheet.ISODate {
			p.date++
		} else if _, err := ParseDateText(v, time.UTC, false); err == nil && strings.ContainsAny(v, "/-.") {
			p.date++
		}
		if strings.IndexFunc(v, func(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r > 0x7f }) >= 0 {
			p.letters++
		}
		isNum := c.Kind == sheet.Number
		if _, err := ParseInteger(text); err == nil && (isNum || !strings.ContainsAny(v, " ()+")) {
			p.integer++
		}
		if f, err := ParseDecimal(text); err == nil && c.Kind != sheet.Date {
			p.decimal++
			if i := strings.IndexAny(text, ".,"); i >= 0 && len(text)-i-1 >= 3 {
				p.fraction++
				if f >= -90 && f <= 90 {
					p.lat++
				}
				if f >= -180 && f <= 180 {
					p.lng++
				}
			}
		}
		if _, _, err := ParseLatLng(v); err == nil && strings.ContainsAny(v, ",; ") {
			p.latlng++
		}
		if c.Kind != sheet.Date && c.Kind != sheet.Number {
			if digits, err := ParsePhone(v); err == nil && len(digits) >= 8 && !cepExp.MatchString(v) {
				p.phone++
			}
		}
		if CheckEmail(v) == nil {
			p.email++
		}
		if cepExp.MatchString(v) {
			p.cep++
		}
		if zipExp.MatchString(strings.ToUpper(v)) || cepExp.MatchString(v) {
			p.zip++
		}
		if ufs[strings.ToUpper(v)] {
			p.uf++
		}
		if _, err := ParseBool(v); err == nil {
			p.bool++
		}
	}
	return p
}

// share is k of the column's values as a fraction.
func (p profile) share(k int) float64 {
	if p.n == 0 {
		return 0
	}
	return float64(k) / float64(p.n)
}

// nameFields hold names of people or places: a column of numbers is not one.
var nameFields = map[string]bool{"CustomerName": true, "ContactName": true, "name": true,
	"GeocodeAddress.City": true, "city": true, "GeocodeAddress.Street": true, "street": true}

// fit says how well a column's values fit field f: a factor for the
// header's score (below 1 when the values contradict the field) and the
// evidence in words. With no values there is no evidence either way.
func (p profile) fit(f Field) (factor float64, evidence string) {
	if p.n == 0 {
		return 1, ""
	}
	of := func(k int, what string) string { return fmt.Sprintf("%d of %d values %s", k, p.n, what) }
	judge := func(k int, what string) (float64, string) {
		s := p.share(k)
		switch {
		case s >= 0.9:
			return 1.08, of(k, what)
		case s >= 0.6:
			return 1, of(k, what)
		}
		return 0.3, of(k, what)
	}
	switch f.Type {
	case Date, DateTime:
		return judge(p.date, "are dates")
	case Integer:
		return judge(p.integer, "are whole numbers")
	case Decimal:
		return judge(p.decimal, "are numbers")
	case Phone:
		return judge(p.phone, "are phone numbers")
	case Email:
		return judge(p.email, "are e-mail addresses")
	case Lat:
		return judge(p.lat, "are latitudes")
	case Lng:
		return judge(p.lng, "are longitudes")
	case LatLng:
		return judge(p.latlng, `are "lat, lng" pairs`)
	case Bool:
		return judge(p.bool, "are yes/no")
	}
	if len(f.OneOf) > 0 {
		k := 0
		for _, v := range p.values {
			if containsFold(f.OneOf, v) {
				k++
			}
		}
		return judge(k, "are accepted values")
	}
	switch f.Name {
	case "CustomerNumber", "WorkOrderNumber", "customerNumber":
		if p.share(p.digits) < 0.5 {
			return 0.3, of(p.n-p.digits, "have no digits")
		}
	case "GeocodeAddress.Zip", "zip":
		return judge(p.zip, "are postal codes")
	case "GeocodeAddress.State", "state":
		if s := p.share(p.uf); s >= 0.9 {
			return 1.08, of(p.uf, "are state codes")
		}
		if p.share(p.letters) < 0.5 {
			return 0.3, of(p.n-p.letters, "have no letters")
		}
	}
	if nameFields[f.Name] && p.share(p.letters) < 0.5 {
		return 0.3, of(p.n-p.letters, "have no letters")
	}
	if p.share(p.date) >= 0.9 && f.Type == Text {
		return 0.6, of(p.date, "are dates")
	}
	return 1, ""
}

// dataGuess is a field suggested by a column's values alone, for a header
// that matches nothing.
type dataGuess struct {
	field    string
	score    float64
	evidence string
}

// guessFromData suggests a field for an unrecognised header from its
// values: only kinds of values that few other fields hold.
func guessFromData(t *Target, p profile) []dataGuess {
	if p.n < 2 {
		return nil
	}
	var out []dataGuess
	add := func(field string, score float64, k int, what string) {
		if _, ok := t.Field(field); ok && p.share(k) >= 0.9 {
			out = append(out, dataGuess{field, score, fmt.Sprintf("%d of %d values %s", k, p.n, what)})
		}
	}
	add("Email", 0.62, p.email, "are e-mail addresses")
	add("email", 0.62, p.email, "are e-mail addresses")
	add("Location", 0.62, p.latlng, `are "lat, lng" pairs`)
	add("GeocodeAddress.Zip", 0.5, p.cep, "are CEPs")
	add("zip", 0.5, p.cep, "are CEPs")
	add("Phone1", 0.45, p.phone, "are phone numbers")
	add("phone1", 0.45, p.phone, "are phone numbers")
	add("DueDateTime", 0.4, p.date, "are dates")
	add("GeocodeAddress.State", 0.45, p.uf, "are state codes")
	add("state", 0.45, p.uf, "are state codes")
	return out
}
