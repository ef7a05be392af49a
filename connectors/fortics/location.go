package fortics

import (
	"errors"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Input kinds, as recorded in Record.Input.
const (
	InputLatLng  = "latlng"
	InputCoords  = "coords"
	InputLink    = "link"
	InputAddress = "address"
	// InputFindMe is a location the customer chose on a FindME page
	// (Handler.Ask).
	InputFindMe = "findme"
)

// locError is a location the handler refuses, with its reason key.
type locError struct {
	reason string
	detail string
}

func (e *locError) Error() string { return e.reason + ": " + e.detail }

func refuse(reason, detail string) error { return &locError{reason: reason, detail: detail} }

// Location is a question's location as given, before geocoding.
type Location struct {
	// Input is the kind: InputLatLng, InputCoords, InputLink or
	// InputAddress.
	Input string
	// Lat and Lng are set for every kind except InputAddress.
	Lat, Lng float64
	// Text is the address (InputAddress) or the text the coordinates came
	// from (coords, link).
	Text string
}

// fields holds the location variables of one request, by canonical name.
type fields struct {
	lat, lng, coords, link, address, location, token string
}

// set stores a variable under its canonical name; unknown names are ignored.
// It reports whether the name was known.
func (f *fields) set(name, v string) bool {
	v = strings.TrimSpace(v)
	switch strings.ToLower(name) {
	case "lat", "latitude":
		f.lat = v
	case "lng", "lon", "long", "longitude":
		f.lng = v
	case "coords", "coordinates", "coordenadas", "coord", "latlng":
		f.coords = v
	case "link", "url", "maps", "map", "map_link", "maps_link":
		f.link = v
	case "address", "endereco", "endereço", "direccion", "dirección":
		f.address = v
	case "location", "localizacao", "localização", "ubicacion", "ubicación", "q", "text":
		f.location = v
	case "token":
		f.token = v
	default:
		return false
	}
	return true
}

// given is the location as sent, for the record of a refused question.
func (f *fields) given() string {
	switch {
	case f.lat != "" || f.lng != "":
		return "lat=" + f.lat + " lng=" + f.lng
	case f.coords != "":
		return f.coords
	case f.link != "":
		return f.link
	case f.location != "":
		return f.location
	}
	return f.address
}

// locate reads the location from the variables, in order of precision:
// lat+lng, coords, link, then a free text (location) that may be any of
// them, then address.
func (f *fields) locate() (Location, error) {
	switch {
	case f.lat != "" || f.lng != "":
		if f.lat == "" || f.lng == "" {
			return Location{}, refuse(ReasonBadCoordinates, "lat and lng must both be given")
		}
		lat, err1 := parseNumber(f.lat)
		lng, err2 := parseNumber(f.lng)
		if err1 != nil || err2 != nil {
			return Location{}, refuse(ReasonBadCoordinates, "lat/lng are not numbers")
		}
		return checked(Location{Input: InputLatLng, Lat: lat, Lng: lng})
	case f.coords != "":
		return parseText(f.coords, false)
	case f.link != "":
		return parseText(f.link, false)
	case f.location != "":
		return parseText(f.location, true)
	case f.address != "":
		return parseText(f.address, true)
	}
	return Location{}, refuse(ReasonMissingLocation, "no lat/lng, coords, link or address")
}

// parseText reads a text that holds a coordinate pair or a map link; when
// addressOK, a text that is neither is an address.
func parseText(s string, addressOK bool) (Location, error) {
	s = strings.TrimSpace(s)
	if len(s) > 2048 {
		return Location{}, refuse(ReasonBadCoordinates, "text too long")
	}
	if u := findURL(s); u != "" {
		lat, lng, err := fromLink(u)
		if err != nil {
			return Location{}, err
		}
		return checked(Location{Input: InputLink, Lat: lat, Lng: lng, Text: s})
	}
	if lat, lng, ok := pair(s); ok {
		return checked(Location{Input: InputCoords, Lat: lat, Lng: lng, Text: s})
	}
	if addressOK && hasLetter(s) {
		return Location{Input: InputAddress, Text: s}, nil
	}
	return Location{}, refuse(ReasonBadCoordinates, "no coordinate pair in the text")
}

func hasLetter(s string) bool {
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127 {
			return true
		}
	}
	return false
}

// checked refuses coordinates outside the Earth, and 0,0 (what a phone
// sends without a fix).
func checked(l Location) (Location, error) {
	if math.IsNaN(l.Lat) || math.IsNaN(l.Lng) || math.IsInf(l.Lat, 0) || math.IsInf(l.Lng, 0) {
		return Location{}, refuse(ReasonBadCoordinates, "not a number")
	}
	if l.Lat < -90 || l.Lat > 90 || l.Lng < -180 || l.Lng > 180 {
		return Location{}, refuse(ReasonOutOfRange, "latitude/longitude out of range")
	}
	if l.Lat == 0 && l.Lng == 0 {
		return Location{}, refuse(ReasonBadCoordinates, "0,0 is not a location")
	}
	return l, nil
}

// parseNumber reads one decimal number with a decimal point or comma.
func parseNumber(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	if s == "" || len(s) > 32 {
		return 0, errors.New("not a number")
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+') {
			return 0, errors.New("not a number")
		}
	}
	return strconv.ParseFloat(s, 64)
}

// numRE finds decimal numbers written with a point or a comma.
var numRE = regexp.MustCompile(`[-+]?\d+(?:[.,]\d+)?`)

// pair reads "lat, lng" from a short text: exactly two numbers, with
// optional decoration (spaces, parentheses, "lat:" labels).
func pair(s string) (lat, lng float64, ok bool) {
	if len(s) > 128 {
		return 0, 0, false
	}
	// Refuse texts with other words (an address with house numbers).
	rest := numRE.ReplaceAllString(s, "")
	rest = strings.NewReplacer("latitude", "", "longitude", "", "lat", "", "lng", "", "long", "", "lon", "",
		":", "", "=", "", ",", "", ";", "", "(", "", ")", "", "[", "", "]", "", " ", "", "\t", "", "/", "").Replace(strings.ToLower(rest))
	if rest != "" {
		return 0, 0, false
	}
	m := numRE.FindAllString(s, 3)
	if len(m) != 2 {
		return 0, 0, false
	}
	a, err1 := parseNumber(m[0])
	b, err2 := parseNumber(m[1])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return a, b, true
}

// findURL returns the first URL-looking word of s (http(s)://, geo:, or a
// bare maps host).
func findURL(s string) string {
	for _, p := range []string{"https://", "http://", "geo:", "maps.google.", "www.google.", "google.com/maps", "goo.gl/", "maps.app.goo.gl", "openstreetmap.org"} {
		if i := indexASCIIFold(s, p); i >= 0 {
			u := s[i:]
			if j := strings.IndexAny(u, " \t\r\n\"'<>"); j >= 0 {
				u = u[:j]
			}
			if !strings.Contains(u[:min(len(u), 8)], ":") {
				u = "https://" + u
			}
			return u
		}
	}
	return ""
}

// indexASCIIFold is strings.Index ignoring ASCII case (p is lower-case
// ASCII); byte offsets stay those of s, whatever its encoding.
func indexASCIIFold(s, p string) int {
	for i := 0; i+len(p) <= len(s); i++ {
		j := 0
		for ; j < len(p); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != p[j] {
				break
			}
		}
		if j == len(p) {
			return i
		}
	}
	return -1
}

// Patterns of coordinates inside map links.
var (
	// !3d-23.55!4d-46.63 — the place's own position (Google "data").
	dataRE = regexp.MustCompile(`!3d([-+]?\d+(?:\.\d+)?)!4d([-+]?\d+(?:\.\d+)?)`)
	// @-23.55,-46.63,17z — the map's centre.
	atRE = regexp.MustCompile(`@([-+]?\d+(?:\.\d+)?),([-+]?\d+(?:\.\d+)?)`)
	// a path segment "-23.55,-46.63" (maps/place/…, maps/search/…).
	segRE = regexp.MustCompile(`^([-+]?\d+(?:\.\d+)?),\s*\+?([-+]?\d+(?:\.\d+)?)$`)
	// #map=17/-23.55/-46.63 (OpenStreetMap).
	osmRE = regexp.MustCompile(`map=\d+(?:\.\d+)?/([-+]?\d+(?:\.\d+)?)/([-+]?\d+(?:\.\d+)?)`)
)

// fromLink extracts coordinates from a map link.
func fromLink(raw string) (float64, float64, error) {
	low := strings.ToLower(raw)
	if strings.HasPrefix(low, "geo:") {
		body := raw[4:]
		if i := strings.IndexAny(body, ";?"); i >= 0 {
			body = body[:i]
		}
		if lat, lng, ok := pair(body); ok {
			return lat, lng, nil
		}
		return 0, 0, refuse(ReasonBadCoordinates, "geo: link without coordinates")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return 0, 0, refuse(ReasonBadCoordinates, "link not readable")
	}
	full, _ := url.PathUnescape(raw)
	if full == "" {
		full = raw
	}
	if m := dataRE.FindStringSubmatch(full); m != nil {
		return twoNumbers(m[1], m[2])
	}
	q := u.Query()
	for _, k := range []string{"q", "query", "ll", "sll", "center", "destination", "daddr", "cbll", "coords"} {
		if v := q.Get(k); v != "" {
			v = strings.TrimPrefix(strings.TrimSpace(v), "loc:")
			if lat, lng, ok := pair(strings.ReplaceAll(v, "+", " ")); ok {
				return lat, lng, nil
			}
		}
	}
	if v1, v2 := q.Get("mlat"), q.Get("mlon"); v1 != "" && v2 != "" {
		return twoNumbers(v1, v2)
	}
	if m := atRE.FindStringSubmatch(full); m != nil {
		return twoNumbers(m[1], m[2])
	}
	for _, seg := range strings.Split(u.Path, "/") {
		seg, _ = url.PathUnescape(seg)
		if m := segRE.FindStringSubmatch(strings.ReplaceAll(seg, "+", "")); m != nil {
			return twoNumbers(m[1], m[2])
		}
	}
	if m := osmRE.FindStringSubmatch(u.Fragment); m != nil {
		return twoNumbers(m[1], m[2])
	}
	host := strings.ToLower(u.Host)
	if host == "goo.gl" || strings.HasSuffix(host, ".goo.gl") || host == "g.co" || host == "bit.ly" {
		return 0, 0, refuse(ReasonShortLink, "shortened link "+host)
	}
	return 0, 0, refuse(ReasonBadCoordinates, "link without coordinates")
}

func twoNumbers(a, b string) (float64, float64, error) {
	lat, err1 := parseNumber(a)
	lng, err2 := parseNumber(b)
	if err1 != nil || err2 != nil {
		return 0, 0, refuse(ReasonBadCoordinates, "link coordinates not readable")
	}
	return lat, lng, nil
}
