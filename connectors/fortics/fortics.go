// Package fortics answers the question a Fortics chatbot asks in a sales
// chat — "can this address be served with fibre?" — over HTTP.
//
// A chatbot HTTP block calls the Handler with the variables it holds: lat
// and lng, one coords text, a map link, or an address. The handler turns the
// location into coordinates (geocoding an address through an optional
// Nominatim-compatible Geocoder), asks the Network for the nearest usable
// pole and for the feasibility at that pole, and answers a flat JSON Answer
// with the same keys every time: status found, not_found or no_viability
// (200), invalid_request (400), unauthorized (401), rate_limited (429) or
// unavailable (503). It never answers HTML and never hangs: every question
// has one overall deadline.
//
// The package knows nothing of OZmap's client: the Network interface is
// satisfied by an adapter the engine builds around connectors/ozmap.
package fortics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Answer statuses (the JSON "status" key).
const (
	StatusFound          = "found"           // viable: a box with free ports is named
	StatusNotFound       = "not_found"       // no usable pole / no network near the location
	StatusNoViability    = "no_viability"    // network near, but no box with a free port in range
	StatusInvalidRequest = "invalid_request" // bad input (400)
	StatusUnauthorized   = "unauthorized"    // missing or wrong token (401)
	StatusRateLimited    = "rate_limited"    // too many questions from one client (429)
	StatusUnavailable    = "unavailable"     // the network system failed or was too slow (503)
)

// Answer is the flat JSON the chatbot receives. Every answer carries every
// key; keys that do not apply hold their zero value ("" / 0 / false).
type Answer struct {
	Status  string `json:"status"`
	Viable  bool   `json:"viable"`
	Message string `json:"message"`
	// Box is the name of the best box: the nearest with free ports.
	Box string `json:"box"`
	// BoxDistanceM is the distance in metres from the asked location to
	// the box (or, when the box has no coordinates, OZmap's distance from
	// the pole), rounded to 0.1 m.
	BoxDistanceM float64 `json:"box_distance_m"`
	// FreePorts is the box's number of free ports.
	FreePorts int `json:"free_ports"`
	// Pole is the name of the nearest usable pole (its id when unnamed).
	Pole string `json:"pole"`
	// Lat and Lng are the location asked about (geocoded for an address);
	// 0 when no location could be read.
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
	// CheckedAt is when the network was asked (RFC 3339, UTC); for a cached
	// answer, the time of the check it was taken from.
	CheckedAt string `json:"checked_at"`
}

// Pole is a pole as the Network reports it.
type Pole struct {
	ID, Name string
	Lat, Lng float64
	// Usable is false for a pole that must not be offered for a sale.
	Usable bool
}

// Box is a box that the feasibility check found viable.
type Box struct {
	ID, Name string
	// DistanceM is the network system's distance from the feasibility
	// point (the pole) to the box.
	DistanceM float64
	Lat, Lng  float64
	Implanted bool
	// FreePorts is the number of free splitter ports.
	FreePorts int
}

// Feasibility is the answer of a feasibility check at a point.
type Feasibility struct {
	Viable bool
	// Boxes are the viable boxes, nearest first.
	Boxes []Box
	// Refused counts boxes in range without viability.
	Refused int
}

// Network is the network documentation system (OZmap) as the handler
// needs it. Implementations honour ctx's deadline.
type Network interface {
	// Poles returns up to limit poles within radiusM metres of
	// (lat, lng), nearest first.
	Poles(ctx context.Context, lat, lng, radiusM float64, limit int) ([]Pole, error)
	// Feasibility checks, within radiusM metres of (lat, lng), which
	// boxes have free ports.
	Feasibility(ctx context.Context, lat, lng, radiusM float64) (Feasibility, error)
}

// ErrAddressNotFound is returned (wrapped) by a Geocoder that found no
// match for an address.
var ErrAddressNotFound = errors.New("address not found")

// Geocoder turns an address into coordinates.
type Geocoder interface {
	// Geocode returns the coordinates of address, or an error wrapping
	// ErrAddressNotFound when there is no match.
	Geocode(ctx context.Context, address string) (lat, lng float64, err error)
}

// Record describes one answered question; the handler hands it to
// Options.OnAnswer after writing the answer.
type Record struct {
	Time time.Time `json:"time"`
	// Client is the asking client's address.
	Client string `json:"client"`
	// Input is the kind of location given: "latlng", "coords", "link",
	// "address" or "" when none was readable.
	Input string `json:"input"`
	// Query is the address or text given (truncated), when not plain
	// coordinates.
	Query string  `json:"query,omitempty"`
	Lat   float64 `json:"lat"`
	Lng   float64 `json:"lng"`
	// Status is the answer's status; HTTP its HTTP status code.
	Status string `json:"status"`
	HTTP   int    `json:"http"`
	Box    string `json:"box,omitempty"`
	// FreePorts is the box's free ports (found only).
	FreePorts int    `json:"free_ports,omitempty"`
	Pole      string `json:"pole,omitempty"`
	// Cached is true when the answer came from the cache or from another
	// identical question in flight.
	Cached bool `json:"cached,omitempty"`
	// Latency is how long the answer took.
	Latency time.Duration `json:"latency_ns"`
	// Reason says why a question was refused or failed (no secrets).
	Reason string `json:"reason,omitempty"`
}

// Options configures a Handler. Zero values take the defaults documented on
// each field (DefaultOptions fills them in).
type Options struct {
	// Network answers poles and feasibility. Required.
	Network Network
	// Geocoder turns addresses into coordinates. Optional: without one an
	// address answers invalid_request asking for coordinates.
	Geocoder Geocoder
	// Token is the shared secret the chatbot sends, in the Authorization
	// header (raw or "Bearer X"), the X-Token or X-Fieldbridge-Token
	// header, the "token" query parameter or a "token" body field.
	// Required.
	Token string
	// Path, when set, is the only path answered; others get a JSON 404.
	Path string

	// RadiusM is how far from the location a pole is searched (100 m).
	RadiusM float64
	// FeasibilityRadiusM is the radius of the feasibility check around
	// the pole (default RadiusM).
	FeasibilityRadiusM float64
	// PoleLimit is how many nearest poles are asked for, so that unusable
	// ones can be skipped (5).
	PoleLimit int

	// Deadline bounds a whole question (3 s).
	Deadline time.Duration
	// CallTimeout bounds each call to the Network or Geocoder (1.5 s).
	CallTimeout time.Duration

	// Language of the messages: "pt-BR" (default), "es" or "en".
	Language string
	// Messages overrides the language's message for a status (found,
	// not_found, no_viability, invalid_request, unavailable, unauthorized,
	// rate_limited) or for one invalid_request reason (see Reasons). The
	// text may use {box}, {free_ports}, {distance}, {pole}, {lat}, {lng}.
	Messages map[string]string

	// CacheDisabled turns the answer cache off.
	CacheDisabled bool
	// CachePrecision is the number of decimals coordinates are rounded to
	// for the cache key (4 ≈ 11 m).
	CachePrecision int
	// CacheTTL is how long an answer is reused (2 min).
	CacheTTL time.Duration
	// CacheSize bounds the number of cached answers (10000).
	CacheSize int

	// RateLimit is the questions per second allowed per client address
	// (20); negative turns the limit off. RateBurst is the burst (40).
	RateLimit float64
	RateBurst int
	// RateClients bounds the number of client addresses tracked (10000).
	RateClients int
	// ClientIPHeader, when set (e.g. "X-Forwarded-For"), names the header
	// holding the client address set by a trusted reverse proxy (its
	// last entry is used).
	ClientIPHeader string

	// MaxBodyBytes bounds request bodies (16 KiB).
	MaxBodyBytes int64

	// OnAnswer, when set, is called with every answer's record. It runs on
	// the request's goroutine after the answer is written: it must not
	// block (hand the record to a buffered writer).
	OnAnswer func(Record)
	// Log receives failures of the network system (never secrets).
	Log *slog.Logger
	// Now is the clock (time.Now).
	Now func() time.Time
}

// DefaultOptions returns Options with every default filled in (Network
// and Token still to set).
func DefaultOptions() Options {
	return Options{
		RadiusM:        100,
		PoleLimit:      5,
		Deadline:       3 * time.Second,
		CallTimeout:    1500 * time.Millisecond,
		Language:       "pt-BR",
		CachePrecision: 4,
		CacheTTL:       2 * time.Minute,
		CacheSize:      10000,
		RateLimit:      20,
		RateBurst:      40,
		RateClients:    10000,
		MaxBodyBytes:   16 << 10,
	}
}

// withDefaults fills zero values and checks the options, returning every
// problem joined.
func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	if o.RadiusM == 0 {
		o.RadiusM = d.RadiusM
	}
	if o.FeasibilityRadiusM == 0 {
		o.FeasibilityRadiusM = o.RadiusM
	}
	if o.PoleLimit == 0 {
		o.PoleLimit = d.PoleLimit
	}
	if o.Deadline == 0 {
		o.Deadline = d.Deadline
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = d.CallTimeout
	}
	if o.Language == "" {
		o.Language = d.Language
	}
	if o.CachePrecision == 0 {
		o.CachePrecision = d.CachePrecision
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = d.CacheTTL
	}
	if o.CacheSize == 0 {
		o.CacheSize = d.CacheSize
	}
	if o.RateLimit == 0 {
		o.RateLimit = d.RateLimit
	}
	if o.RateBurst == 0 {
		o.RateBurst = max(d.RateBurst, int(o.RateLimit*2))
	}
	if o.RateClients == 0 {
		o.RateClients = d.RateClients
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = d.MaxBodyBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if o.Network == nil {
		errs = append(errs, errors.New("fortics: Network is required"))
	}
	if o.Token == "" {
		errs = append(errs, errors.New("token: a token is required (the chatbot sends it as ?token= or a header)"))
	}
	if o.RadiusM < 0 || o.RadiusM > 5000 {
		errs = append(errs, fmt.Errorf("radius_m: %v is out of range (1 to 5000 metres)", o.RadiusM))
	}
	if o.FeasibilityRadiusM < 0 || o.FeasibilityRadiusM > 5000 {
		errs = append(errs, fmt.Errorf("feasibility_radius_m: %v is out of range (1 to 5000 metres)", o.FeasibilityRadiusM))
	}
	if o.PoleLimit < 1 || o.PoleLimit > 100 {
		errs = append(errs, fmt.Errorf("pole_limit: %d is out of range (1 to 100)", o.PoleLimit))
	}
	if o.Deadline < 0 || o.CallTimeout < 0 {
		errs = append(errs, errors.New("deadline and call_timeout must be positive"))
	}
	if o.CallTimeout > o.Deadline {
		o.CallTimeout = o.Deadline
	}
	if o.CachePrecision < 0 || o.CachePrecision > 7 {
		errs = append(errs, fmt.Errorf("cache_precision: %d is out of range (0 to 7 decimals)", o.CachePrecision))
	}
	if o.CacheTTL < 0 || o.CacheSize < 0 {
		errs = append(errs, errors.New("cache_ttl and cache_size must be positive"))
	}
	if o.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("max_body_bytes must be positive"))
	}
	if _, ok := catalogs[canonLang(o.Language)]; !ok {
		errs = append(errs, fmt.Errorf("language: %q is not known (use pt-BR, es or en)", o.Language))
	}
	for k := range o.Messages {
		if !knownMessageKey(k) {
			errs = append(errs, fmt.Errorf("messages: unknown key %q (use %s)", k, messageKeyList()))
		}
	}
	return o, errors.Join(errs...)
}
