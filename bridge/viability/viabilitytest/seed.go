// Package viabilitytest seeds the OZmap and geocoder fakes with a small
// network around Florianópolis in which every viability outcome happens.
// Tests, `fieldbridge demo` and the load benchmark share it.
package viabilitytest

import (
	"github.com/fieldbridge/fieldbridge/connectors/fortics/forticstest"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
)

// Point is a latitude and longitude.
type Point struct{ Lat, Lng float64 }

// Places are the seeded locations, one per outcome.
type Places struct {
	// Found: the nearest pole (P_0001) is unusable; the next (P_2520) is
	// usable and box CTO 22-05 (6 free ports) is near it — CTO 22-04 is
	// nearer but full, CTO 22-06 has ports but is still being designed.
	Found Point
	// NoViability: pole P_3100 is usable but its only box is full.
	NoViability Point
	// UnusableOnly: the only pole in range (P_4000) is unusable.
	UnusableOnly Point
	// NotFound: nothing within kilometres.
	NotFound Point
	// Address geocodes to Found (see SeedGeocoder).
	Address string
}

// The seeded names.
const (
	FoundBox  = "CTO 22-05"
	FoundPole = "P_2520"
	FullPole  = "P_3100"
)

// Seed adds the poles and boxes to the OZmap fake and returns the places.
func Seed(s *ozmaptest.Server) Places {
	p := Places{
		Found:        Point{-27.5760, -48.5270},
		NoViability:  Point{-27.5900, -48.5100},
		UnusableOnly: Point{-27.5800, -48.5400},
		NotFound:     Point{-27.7000, -48.6000},
		Address:      "Rua das Flores, 100 - Centro, Florianópolis",
	}
	s.AddPole(ozmap.Pole{ID: "pole-0001", Name: "P_0001", Lat: -27.57605, Lng: -48.52705, PoleType: "concreto", Usable: false})
	s.AddPole(ozmap.Pole{ID: "pole-2520", Name: FoundPole, Lat: -27.57620, Lng: -48.52720, PoleType: "concreto", Usable: true})
	box := func(id, name string, lat, lng float64, free int, implanted bool) {
		s.AddBox(ozmaptest.Box{Box: ozmap.Box{ID: id, Name: name, Project: "proj-floripa", Implanted: implanted,
			Lat: lat, Lng: lng, HierarchyLevel: 3}, FreePorts: free})
	}
	box("box-2204", "CTO 22-04", -27.57625, -48.52722, 0, true)
	box("box-2205", FoundBox, -27.57640, -48.52740, 6, true)
	box("box-2206", "CTO 22-06", -27.57621, -48.52721, 8, false)

	s.AddPole(ozmap.Pole{ID: "pole-3100", Name: FullPole, Lat: -27.59005, Lng: -48.51005, PoleType: "madeira", Usable: true})
	box("box-3101", "CTO 31-01", -27.59010, -48.51010, 0, true)

	s.AddPole(ozmap.Pole{ID: "pole-4000", Name: "P_4000", Lat: -27.58003, Lng: -48.54003, PoleType: "madeira", Usable: false})
	return p
}

// SeedGeocoder makes the geocoder fake answer p.Address with p.Found.
func SeedGeocoder(g *forticstest.Geocoder, p Places) {
	g.Add("Rua das Flores, 100", p.Found.Lat, p.Found.Lng)
}
