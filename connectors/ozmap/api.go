package ozmap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TimeFormat is how OZmap writes and filters timestamps.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Box is a box (CTO, CE, splice box) as OZmap lists it.
type Box struct {
	ID             string `json:"id"`
	Kind           string `json:"kind"`
	Name           string `json:"name"`
	Project        string `json:"project"`
	Pole           string `json:"pole"`
	BoxType        string `json:"boxType"`
	HierarchyLevel int    `json:"hierarchyLevel"`
	// Implanted is false for a box still being designed ("em projeto").
	Implanted bool `json:"implanted"`
	Draft     bool `json:"draft"`
	// Coords is [lng, lat] (GeoJSON order).
	Coords []float64 `json:"coords"`
	// Lat and Lng are taken from the answer, or derived from Coords when
	// absent or null.
	Lat         float64         `json:"lat"`
	Lng         float64         `json:"lng"`
	Address     string          `json:"address"`
	Observation string          `json:"observation"`
	ExternalID  string          `json:"external_id"`
	Tags        json.RawMessage `json:"tags,omitempty"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
}

// UnmarshalJSON decodes a box tolerantly: null strings, numeric ids,
// missing lat/lng (derived from coords).
func (b *Box) UnmarshalJSON(data []byte) error {
	var w struct {
		ID             flexString      `json:"id"`
		UnderscoreID   flexString      `json:"_id"`
		Kind           flexString      `json:"kind"`
		Name           flexString      `json:"name"`
		Project        flexRef         `json:"project"`
		Pole           flexRef         `json:"pole"`
		BoxType        flexRef         `json:"boxType"`
		HierarchyLevel *float64        `json:"hierarchyLevel"`
		Implanted      *bool           `json:"implanted"`
		Draft          *bool           `json:"draft"`
		Coords         []float64       `json:"coords"`
		Lat            *float64        `json:"lat"`
		Lng            *float64        `json:"lng"`
		Address        flexString      `json:"address"`
		Observation    flexString      `json:"observation"`
		ExternalID     flexString      `json:"external_id"`
		Tags           json.RawMessage `json:"tags"`
		CreatedAt      flexTime        `json:"createdAt"`
		UpdatedAt      flexTime        `json:"updatedAt"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*b = Box{
		ID: string(w.ID), Kind: string(w.Kind), Name: string(w.Name),
		Project: string(w.Project), Pole: string(w.Pole), BoxType: string(w.BoxType),
		Coords: w.Coords, Address: string(w.Address), Observation: string(w.Observation),
		ExternalID: string(w.ExternalID), Tags: w.Tags,
		CreatedAt: time.Time(w.CreatedAt), UpdatedAt: time.Time(w.UpdatedAt),
	}
	if b.ID == "" {
		b.ID = string(w.UnderscoreID)
	}
	if w.HierarchyLevel != nil {
		b.HierarchyLevel = int(*w.HierarchyLevel)
	}
	if w.Implanted != nil {
		b.Implanted = *w.Implanted
	}
	if w.Draft != nil {
		b.Draft = *w.Draft
	}
	b.Lat, b.Lng = latLng(w.Lat, w.Lng, w.Coords)
	return nil
}

// latLng picks lat/lng, falling back to coords ([lng, lat]).
func latLng(lat, lng *float64, coords []float64) (float64, float64) {
	if lat != nil && lng != nil {
		return *lat, *lng
	}
	if len(coords) >= 2 {
		return coords[1], coords[0]
	}
	var a, o float64
	if lat != nil {
		a = *lat
	}
	if lng != nil {
		o = *lng
	}
	return a, o
}

// Project is an OZmap project.
type Project struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Identifier string `json:"identifier"`
}

// UnmarshalJSON decodes a project tolerantly.
func (p *Project) UnmarshalJSON(data []byte) error {
	var w struct {
		ID           flexString `json:"id"`
		UnderscoreID flexString `json:"_id"`
		Name         flexString `json:"name"`
		Identifier   flexString `json:"identifier"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*p = Project{ID: string(w.ID), Name: string(w.Name), Identifier: string(w.Identifier)}
	if p.ID == "" {
		p.ID = string(w.UnderscoreID)
	}
	return nil
}

// Pole is an OZmap pole.
type Pole struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
	PoleType string  `json:"poleType"`
	// Usable is false for a pole that must not be offered for a sale. A
	// pole without the field counts as usable.
	Usable    bool     `json:"usable"`
	Adjacents []string `json:"adjacents,omitempty"`
}

// poleWire is a pole as OZmap may send it; Poles decodes a listing into
// it directly (one pass) and Pole.UnmarshalJSON goes through it.
type poleWire struct {
	ID           flexString `json:"id"`
	UnderscoreID flexString `json:"_id"`
	Name         flexString `json:"name"`
	Coords       []float64  `json:"coords"`
	Lat          *float64   `json:"lat"`
	Lng          *float64   `json:"lng"`
	PoleType     flexRef    `json:"poleType"`
	Usable       *bool      `json:"usable"`
	Adjacents    []flexRef  `json:"adjacents"`
}

func (w *poleWire) pole() Pole {
	p := Pole{ID: string(w.ID), Name: string(w.Name), PoleType: string(w.PoleType), Usable: w.Usable == nil || *w.Usable}
	if p.ID == "" {
		p.ID = string(w.UnderscoreID)
	}
	p.Lat, p.Lng = latLng(w.Lat, w.Lng, w.Coords)
	for _, a := range w.Adjacents {
		p.Adjacents = append(p.Adjacents, string(a))
	}
	return p
}

// UnmarshalJSON decodes a pole tolerantly (lat/lng from coords).
func (p *Pole) UnmarshalJSON(data []byte) error {
	var w poleWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*p = w.pole()
	return nil
}

// Feasibility is the answer of GET /ftth-viability/radius.
type Feasibility struct {
	// Viable is true when at least one box within the radius has free ports.
	Viable bool `json:"viable"`
	// Boxes are the viable boxes, nearest first.
	Boxes []ViableBox `json:"boxes"`
	// Refused are boxes in range without viability, kept opaque.
	Refused []json.RawMessage `json:"refused_boxes"`
}

// ViableBox is one box of a feasibility answer.
type ViableBox struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Project   string  `json:"project"`
	Distance  float64 `json:"distance"` // metres
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	Implanted bool    `json:"implanted"`
	// Availability is the number of free ports.
	Availability int `json:"availability"`
}

// viableBoxWire is a viable box as OZmap may send it; Feasibility
// decodes into it directly (one pass) and ViableBox.UnmarshalJSON goes
// through it.
type viableBoxWire struct {
	ID           flexString `json:"id"`
	UnderscoreID flexString `json:"_id"`
	Name         flexString `json:"name"`
	Project      flexRef    `json:"project"`
	Distance     float64    `json:"distance"`
	Lat          *float64   `json:"lat"`
	Lng          *float64   `json:"lng"`
	Coords       []float64  `json:"coords"`
	Implanted    *bool      `json:"implanted"`
	Availability float64    `json:"availability"`
}

func (w *viableBoxWire) box() ViableBox {
	v := ViableBox{ID: string(w.ID), Name: string(w.Name), Project: string(w.Project),
		Distance: w.Distance, Implanted: w.Implanted == nil || *w.Implanted, Availability: int(w.Availability)}
	if v.ID == "" {
		v.ID = string(w.UnderscoreID)
	}
	v.Lat, v.Lng = latLng(w.Lat, w.Lng, w.Coords)
	return v
}

// UnmarshalJSON decodes a viable box tolerantly.
func (v *ViableBox) UnmarshalJSON(data []byte) error {
	var w viableBoxWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*v = w.box()
	return nil
}

// Filter is one condition of a listing's filter parameter.
type Filter struct {
	Property string `json:"property"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

// Sort is one key of a listing's sort parameter (Direction 1 or -1).
type Sort struct {
	Property  string `json:"property"`
	Direction int    `json:"direction"`
}

// BoxQuery selects boxes for Boxes.
type BoxQuery struct {
	// UpdatedSince, when not zero, keeps boxes with updatedAt >= it.
	UpdatedSince time.Time
	// Projects, when not empty, keeps boxes of these project ids.
	Projects []string
	// Implanted, when set, keeps boxes whose implanted flag equals it.
	Implanted *bool
	// Extra filters are added as they are.
	Extra []Filter
	// Sort defaults to createdAt then id ascending, so that boxes created
	// while paging land on later pages.
	Sort []Sort
}

// Filters returns the filter array q stands for.
func (q BoxQuery) Filters() []Filter {
	var f []Filter
	if !q.UpdatedSince.IsZero() {
		f = append(f, Filter{"updatedAt", ">=", q.UpdatedSince.UTC().Format(TimeFormat)})
	}
	switch len(q.Projects) {
	case 0:
	case 1:
		f = append(f, Filter{"project", "=", q.Projects[0]})
	default:
		f = append(f, Filter{"project", "in", q.Projects})
	}
	if q.Implanted != nil {
		f = append(f, Filter{"implanted", "=", *q.Implanted})
	}
	return append(f, q.Extra...)
}

// envelope is a listing's answer.
type envelope[T any] struct {
	Total int `json:"total"`
	Count int `json:"count"`
	Start int `json:"start"`
	Limit int `json:"limit"`
	Rows  []T `json:"rows"`
}

// maxPages guards against a server that never ends a listing.
const maxPages = 1_000_000

// list pages through collection, calling fn for every row.
func list[T any](ctx context.Context, c *Client, collection string, filters []Filter, sort []Sort, fn func(T) error) error {
	q := url.Values{"limit": {strconv.Itoa(c.o.PageSize)}}
	if len(filters) > 0 {
		b, err := json.Marshal(filters)
		if err != nil {
			return fmt.Errorf("ozmap: GET /%s: encoding the filter: %w", collection, err)
		}
		q.Set("filter", string(b))
	}
	if len(sort) > 0 {
		b, _ := json.Marshal(sort)
		q.Set("sort", string(b))
	}
	seen := 0
	for page := 1; page <= maxPages; page++ {
		q.Set("page", strconv.Itoa(page))
		var env envelope[T]
		op := fmt.Sprintf("GET /%s page %d", collection, page)
		if err := c.getJSON(ctx, op, "/"+collection, q, &env); err != nil {
			return err
		}
		for _, r := range env.Rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		seen += len(env.Rows)
		count := env.Count
		if count == 0 {
			count = len(env.Rows)
		}
		if len(env.Rows) == 0 || env.Start+count >= env.Total {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("ozmap: GET /%s: %w", collection, err)
		}
	}
	return fmt.Errorf("ozmap: GET /%s: more than %d pages; giving up", collection, maxPages)
}

// Boxes pages through GET /boxes with q and calls fn for each box, in the
// server's order. fn's error stops the walk and is returned as is.
func (c *Client) Boxes(ctx context.Context, q BoxQuery, fn func(Box) error) error {
	sort := q.Sort
	if len(sort) == 0 {
		sort = []Sort{{"createdAt", 1}, {"id", 1}}
	}
	return list(ctx, c, "boxes", q.Filters(), sort, fn)
}

// Box returns one box by id (GET /boxes/{id}).
func (c *Client) Box(ctx context.Context, id string) (Box, error) {
	var b Box
	err := c.getJSON(ctx, "GET /boxes/"+id, "/boxes/"+url.PathEscape(id), nil, &b)
	return b, err
}

// Projects lists every project the key can see.
func (c *Client) Projects(ctx context.Context) ([]Project, error) {
	var out []Project
	err := list(ctx, c, "projects", nil, nil, func(p Project) error { out = append(out, p); return nil })
	return out, err
}

// Poles returns up to limit poles within radiusM metres of (lat, lng),
// nearest first (filter near). limit <= 0 means 1.
func (c *Client) Poles(ctx context.Context, lat, lng, radiusM float64, limit int) ([]Pole, error) {
	if limit <= 0 {
		limit = 1
	}
	q := url.Values{"page": {"1"}, "limit": {strconv.Itoa(limit)}, "filter": {nearFilter(lat, lng, radiusM)}}
	var env envelope[poleWire]
	if err := c.getJSON(ctx, "GET /poles near", "/poles", q, &env); err != nil {
		return nil, err
	}
	rows := env.Rows[:min(len(env.Rows), limit)]
	if env.Rows == nil {
		return nil, nil
	}
	out := make([]Pole, len(rows))
	for i := range rows {
		out[i] = rows[i].pole()
	}
	return out, nil
}

// Feasibility asks GET /ftth-viability/radius for boxes with free ports
// within radiusM metres of (lat, lng); radiusM <= 0 leaves the server's
// default.
func (c *Client) Feasibility(ctx context.Context, lat, lng, radiusM float64) (Feasibility, error) {
	q := url.Values{"lat": {ftoa(lat)}, "lng": {ftoa(lng)}}
	if radiusM > 0 {
		q.Set("radius", ftoa(radiusM))
	}
	var w struct {
		Viable  bool              `json:"viable"`
		Boxes   []viableBoxWire   `json:"boxes"`
		Refused []json.RawMessage `json:"refused_boxes"`
	}
	if err := c.getJSON(ctx, "GET /ftth-viability/radius", "/ftth-viability/radius", q, &w); err != nil {
		return Feasibility{}, err
	}
	f := Feasibility{Viable: w.Viable, Boxes: make([]ViableBox, len(w.Boxes)), Refused: w.Refused}
	for i := range w.Boxes {
		f.Boxes[i] = w.Boxes[i].box()
	}
	return f, nil
}

// nearFilter is the JSON filter of Poles, the same text json.Marshal
// writes for []Filter{{"coords", "near", map[string]float64{"lat": lat,
// "lng": lng, "radius": radiusM}}}, built without reflection.
func nearFilter(lat, lng, radiusM float64) string {
	plain := func(f float64) bool { // json.Marshal writes it as strconv's 'f'
		a := math.Abs(f)
		return !math.IsNaN(f) && !math.IsInf(f, 0) && (a == 0 || (a >= 1e-6 && a < 1e21))
	}
	if !plain(lat) || !plain(lng) || !plain(radiusM) {
		f, _ := json.Marshal([]Filter{{"coords", "near", map[string]float64{"lat": lat, "lng": lng, "radius": radiusM}}})
		return string(f)
	}
	b := make([]byte, 0, 128)
	b = append(b, `[{"property":"coords","operator":"near","value":{"lat":`...)
	b = strconv.AppendFloat(b, lat, 'f', -1, 64)
	b = append(b, `,"lng":`...)
	b = strconv.AppendFloat(b, lng, 'f', -1, 64)
	b = append(b, `,"radius":`...)
	b = strconv.AppendFloat(b, radiusM, 'f', -1, 64)
	b = append(b, "}}]"...)
	return string(b)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// ---- tolerant JSON scalars ----

// flexString accepts a string, a number, a bool or null.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*s = ""
	case len(b) > 0 && b[0] == '"':
		if v, ok := plainString(b); ok {
			*s = flexString(v)
			return nil
		}
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		return errors.New("expected a string, got " + string(b[:1]))
	default:
		*s = flexString(strings.TrimSpace(string(b)))
	}
	return nil
}

// plainString returns the text of a JSON string literal b without
// escapes, with valid UTF-8 — what json.Unmarshal would return, without its
// second scan and allocations. ok is false for anything else (escapes,
// invalid UTF-8, not a string), which the caller hands to json.Unmarshal.
// Only for values the decoder already checked (inside an UnmarshalJSON).
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// flexRef accepts an id as a string, or a populated object with an id.
type flexRef string

func (r *flexRef) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var o struct {
			ID           flexString `json:"id"`
			UnderscoreID flexString `json:"_id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*r = flexRef(o.ID)
		if *r == "" {
			*r = flexRef(o.UnderscoreID)
		}
		return nil
	}
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*r = flexRef(s)
	return nil
}

// flexTime accepts RFC 3339 text or null.
type flexTime time.Time

func (t *flexTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" || string(b) == `""` {
		*t = flexTime{}
		return nil
	}
	s, ok := plainString(b)
	if !ok {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*t = flexTime(v)
	return nil
}
