package fortics

import (
	"errors"
	"math"
	"net/netip"
	"testing"
	"time"
)

func TestLocate(t *testing.T) {
	tests := []struct {
		name     string
		f        fields
		input    string
		lat, lng float64
		reason   string // refusal reason, "" when accepted
	}{
		{"lat lng point", fields{lat: "-23.5505", lng: "-46.6333"}, InputLatLng, -23.5505, -46.6333, ""},
		{"lat lng comma", fields{lat: "-23,5505", lng: "-46,6333"}, InputLatLng, -23.5505, -46.6333, ""},
		{"lat lng plus sign", fields{lat: "+10.5", lng: "20"}, InputLatLng, 10.5, 20, ""},
		{"lat only", fields{lat: "-23.55"}, "", 0, 0, ReasonBadCoordinates},
		{"lat words", fields{lat: "abc", lng: "-46"}, "", 0, 0, ReasonBadCoordinates},
		{"lat two commas", fields{lat: "-23,55,1", lng: "-46"}, "", 0, 0, ReasonBadCoordinates},
		{"lat out of range", fields{lat: "-91", lng: "-46"}, "", 0, 0, ReasonOutOfRange},
		{"lng out of range", fields{lat: "-23", lng: "181"}, "", 0, 0, ReasonOutOfRange},
		{"null island", fields{lat: "0", lng: "0"}, "", 0, 0, ReasonBadCoordinates},
		{"NaN", fields{lat: "NaN", lng: "1"}, "", 0, 0, ReasonBadCoordinates},
		{"coords point", fields{coords: "-23.55, -46.63"}, InputCoords, -23.55, -46.63, ""},
		{"coords no space", fields{coords: "-23.55,-46.63"}, InputCoords, -23.55, -46.63, ""},
		{"coords decimal comma", fields{coords: "-23,55, -46,63"}, InputCoords, -23.55, -46.63, ""},
		{"coords decimal comma tight", fields{coords: "-23,55,-46,63"}, InputCoords, -23.55, -46.63, ""},
		{"coords semicolon", fields{coords: "-23,55; -46,63"}, InputCoords, -23.55, -46.63, ""},
		{"coords labelled", fields{coords: "lat: -23.55 lng: -46.63"}, InputCoords, -23.55, -46.63, ""},
		{"coords labelled long", fields{coords: "latitude=-23.55, longitude=-46.63"}, InputCoords, -23.55, -46.63, ""},
		{"coords parens", fields{coords: "(-23.55, -46.63)"}, InputCoords, -23.55, -46.63, ""},
		{"coords one number", fields{coords: "-23.55"}, "", 0, 0, ReasonBadCoordinates},
		{"coords three numbers", fields{coords: "-23.55, -46.63, 10"}, "", 0, 0, ReasonBadCoordinates},
		{"coords words", fields{coords: "perto da praça"}, "", 0, 0, ReasonBadCoordinates},
		{"coords big number", fields{coords: "12345"}, "", 0, 0, ReasonBadCoordinates},
		{"link at", fields{link: "https://www.google.com/maps/@-23.5505,-46.6333,17z"}, InputLink, -23.5505, -46.6333, ""},
		{"link q", fields{link: "https://maps.google.com/?q=-23.5505,-46.6333"}, InputLink, -23.5505, -46.6333, ""},
		{"link q encoded", fields{link: "https://maps.google.com/?q=-23.5505%2C-46.6333"}, InputLink, -23.5505, -46.6333, ""},
		{"link q loc", fields{link: "https://maps.google.com/maps?q=loc:-23.5505,-46.6333"}, InputLink, -23.5505, -46.6333, ""},
		{"link ll", fields{link: "https://maps.google.com/maps?ll=-23.5505,-46.6333&z=18"}, InputLink, -23.5505, -46.6333, ""},
		{"link api query", fields{link: "https://www.google.com/maps/search/?api=1&query=-23.5505,-46.6333"}, InputLink, -23.5505, -46.6333, ""},
		{"link place data", fields{link: "https://www.google.com/maps/place/Pra%C3%A7a/@-23.55,-46.63,17z/data=!3m1!4b1!4m6!3m5!1s0x0:0x0!8m2!3d-23.5505!4d-46.6333"}, InputLink, -23.5505, -46.6333, ""},
		{"link search path", fields{link: "https://www.google.com/maps/search/-23.5505,+-46.6333"}, InputLink, -23.5505, -46.6333, ""},
		{"link osm", fields{link: "https://www.openstreetmap.org/#map=18/-23.5505/-46.6333"}, InputLink, -23.5505, -46.6333, ""},
		{"link osm marker", fields{link: "https://www.openstreetmap.org/?mlat=-23.5505&mlon=-46.6333"}, InputLink, -23.5505, -46.6333, ""},
		{"link geo", fields{link: "geo:-23.5505,-46.6333?z=17"}, InputLink, -23.5505, -46.6333, ""},
		{"link no scheme", fields{link: "maps.google.com/?q=-23.5505,-46.6333"}, InputLink, -23.5505, -46.6333, ""},
		{"link short", fields{link: "https://maps.app.goo.gl/AbCdEf123"}, "", 0, 0, ReasonShortLink},
		{"link nothing", fields{link: "https://www.google.com/maps"}, "", 0, 0, ReasonBadCoordinates},
		{"text with link", fields{location: "Minha localização: https://maps.google.com/?q=-23.5505,-46.6333 obrigado"}, InputLink, -23.5505, -46.6333, ""},
		{"text with coords", fields{location: "-23.5505, -46.6333"}, InputCoords, -23.5505, -46.6333, ""},
		{"text address", fields{location: "Rua das Flores, 100, Florianópolis"}, InputAddress, 0, 0, ""},
		{"address", fields{address: "Av. Paulista, 1000 - São Paulo"}, InputAddress, 0, 0, ""},
		{"address is coords", fields{address: "-23.5505 -46.6333"}, InputCoords, -23.5505, -46.6333, ""},
		{"address digits only", fields{address: "100"}, "", 0, 0, ReasonBadCoordinates},
		{"lat lng win over address", fields{lat: "-23.5", lng: "-46.6", address: "Rua X"}, InputLatLng, -23.5, -46.6, ""},
		{"nothing", fields{}, "", 0, 0, ReasonMissingLocation},
		{"only token", fields{token: "x"}, "", 0, 0, ReasonMissingLocation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := tt.f.locate()
			if tt.reason != "" {
				var le *locError
				if !errors.As(err, &le) || le.reason != tt.reason {
					t.Fatalf("locate = %+v, %v; want refusal %q", loc, err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("locate: %v", err)
			}
			if loc.Input != tt.input || math.Abs(loc.Lat-tt.lat) > 1e-9 || math.Abs(loc.Lng-tt.lng) > 1e-9 {
				t.Fatalf("locate = %+v; want %s %v,%v", loc, tt.input, tt.lat, tt.lng)
			}
		})
	}
}

func FuzzLocate(f *testing.F) {
	for _, s := range []string{"-23.55, -46.63", "-23,55;-46,63", "https://www.google.com/maps/@-23.5,-46.6,17z",
		"geo:1,2", "https://maps.google.com/?q=loc:1,2", "Rua X, 100", "https://www.openstreetmap.org/#map=1/2/3",
		"https://x.goo.gl/a", "lat: 1 lng: 2", "", "1e308,1e308"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fl := range []fields{{coords: s}, {link: s}, {location: s}, {address: s}, {lat: s, lng: s}} {
			loc, err := fl.locate()
			if err != nil {
				var le *locError
				if !errors.As(err, &le) || le.reason == "" {
					t.Fatalf("error without reason: %v", err)
				}
				continue
			}
			if loc.Input == InputAddress {
				continue
			}
			if !(loc.Lat >= -90 && loc.Lat <= 90 && loc.Lng >= -180 && loc.Lng <= 180) || loc.Lat == 0 && loc.Lng == 0 {
				t.Fatalf("accepted out-of-range %+v from %q", loc, s)
			}
		}
	})
}

func TestCoordKey(t *testing.T) {
	if a, b := coordKey(-23.55051, -46.63331, 4), coordKey(-23.55049, -46.63329, 4); a != b {
		t.Fatalf("nearby points got different keys %q %q", a, b)
	}
	if a, b := coordKey(-23.5505, -46.6333, 4), coordKey(-23.5506, -46.6333, 4); a == b {
		t.Fatalf("points 11 m apart share key %q", a)
	}
}

func TestTTLCacheBounded(t *testing.T) {
	c := newTTLCache[int](time.Minute, 3)
	now := time.Unix(1000, 0)
	for i := range 10 {
		c.put(string(rune('a'+i)), i, now)
	}
	if n := c.len(); n != 3 {
		t.Fatalf("cache holds %d entries, want 3", n)
	}
	if _, ok := c.get("a", now); ok {
		t.Fatal("oldest entry not evicted")
	}
	if v, ok := c.get("j", now); !ok || v != 9 {
		t.Fatalf("newest = %v %v", v, ok)
	}
	if _, ok := c.get("j", now.Add(time.Minute+time.Second)); ok {
		t.Fatal("expired entry served")
	}
	// Re-putting a key keeps the bound.
	for range 10 {
		c.put("j", 1, now)
	}
	if n := c.len(); n > 3 {
		t.Fatalf("cache holds %d entries after re-puts", n)
	}
}

func TestLimitersBounded(t *testing.T) {
	l := newLimiters(1, 2, 100)
	now := time.Unix(1000, 0)
	for i := range 1000 {
		l.allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), now)
	}
	if n := l.len(); n > 100 {
		t.Fatalf("tracking %d clients, bound 100", n)
	}
	a := netip.MustParseAddr("192.0.2.1")
	if !l.allow(a, now) || !l.allow(a, now) {
		t.Fatal("burst of 2 refused")
	}
	if l.allow(a, now) {
		t.Fatal("third question in the same instant allowed")
	}
	if !l.allow(a, now.Add(1100*time.Millisecond)) {
		t.Fatal("not allowed again after a second")
	}
}
