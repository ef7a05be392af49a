// Package ozmaptest is an in-memory fake of the OZmap API v2 for tests and
// `fieldbridge demo`, following ../shared/contracts/ozmap.md: boxes, poles,
// projects, feasibility, the login, paging and the filter operators the
// bridge uses (=, !=, <, <=, >, >=, in, notin, like, exists, near), with
// fault injection (latency, 429/5xx answers, dropped connections) and call
// counters.
package ozmaptest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/internal/faketest"

	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
)

// Options configure a fake server.
type Options struct {
	// Key is the API key accepted in the Authorization header (default: a
	// random one, see Server.Key).
	Key string
	// Login and Password, when set, enable POST /users/login?type=API.
	Login, Password string
	// MaxPageSize caps a listing's limit (default 1000).
	MaxPageSize int
	// DefaultRadius is the feasibility radius when the request has none
	// (default 250 m).
	DefaultRadius float64
	// Now is the fake's clock for createdAt/updatedAt (default time.Now).
	Now func() time.Time
}

// Box is a box held by the fake: what OZmap lists, plus fake-only fields.
type Box struct {
	ozmap.Box
	// FreePorts is the number of free service-splitter ports; feasibility
	// is computed from it.
	FreePorts int
	// OmitLatLng leaves lat/lng out of the answer (only coords), as some
	// OZmap installs do.
	OmitLatLng bool
}

// Server is a running fake. Its methods are safe for concurrent use.
//
// Fault injection and call counters come from the embedded Faults:
// SetLatency, FailNext, SetRetryAfter, DropNext, DropAfterNext, and Calls
// by path ("/boxes", "/poles", "/projects", "/ftth-viability/radius",
// "/users/login"; a box by id counts under "/boxes/{id}"), TotalCalls,
// ResetCalls, CallSpan.
type Server struct {
	faketest.Faults

	o  Options
	ts *httptest.Server

	mu       sync.Mutex
	key      string
	tokens   map[string]bool
	boxes    map[string]*Box
	boxOrder []string
	poles    []ozmap.Pole
	projects []ozmap.Project
	seq      int
	version  int
	cache    map[string][]string // listing cache: query+version → ordered ids

	lastQuery map[string]string
}

// New starts a fake on 127.0.0.1. Close it when done.
func New(o Options) *Server {
	if o.Key == "" {
		o.Key = "ozmap-fake-" + randHex(12)
	}
	if o.MaxPageSize <= 0 {
		o.MaxPageSize = 1000
	}
	if o.DefaultRadius <= 0 {
		o.DefaultRadius = 250
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{o: o, key: o.Key, tokens: map[string]bool{}, boxes: map[string]*Box{},
		lastQuery: map[string]string{}, cache: map[string][]string{}}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// URL is the API base, ending in /api/v2.
func (s *Server) URL() string { return s.ts.URL + "/api/v2" }

// Key is the accepted API key.
func (s *Server) Key() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key
}

// SetKey changes the accepted key (the old one then gets 401).
func (s *Server) SetKey(k string) {
	s.mu.Lock()
	s.key = k
	s.mu.Unlock()
}

// RevokeTokens invalidates every token issued by the login.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	s.tokens = map[string]bool{}
	s.mu.Unlock()
}

func (s *Server) now() time.Time { return s.o.Now().UTC().Truncate(time.Millisecond) }

func (s *Server) newID() string {
	s.seq++
	return fmt.Sprintf("%024x", s.seq)
}

// AddBox stores b and returns it as stored. An empty ID gets a new one;
// zero timestamps get the clock; Kind defaults to "Box"; Lat/Lng and Coords
// are completed from each other.
func (s *Server) AddBox(b Box) Box {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.ID == "" {
		b.ID = s.newID()
	}
	if b.Kind == "" {
		b.Kind = "Box"
	}
	now := s.now()
	if b.CreatedAt.IsZero() {
		b.CreatedAt = now
	}
	if b.UpdatedAt.IsZero() {
		b.UpdatedAt = b.CreatedAt
	}
	fixCoords(&b.Box)
	if _, ok := s.boxes[b.ID]; !ok {
		s.boxOrder = append(s.boxOrder, b.ID)
	}
	c := b
	s.boxes[b.ID] = &c
	s.version++
	return b
}

func fixCoords(b *ozmap.Box) {
	if len(b.Coords) < 2 {
		b.Coords = []float64{b.Lng, b.Lat}
	} else {
		b.Lng, b.Lat = b.Coords[0], b.Coords[1]
	}
}

// UpdateBox changes a box with fn and sets its updatedAt to the clock. It
// reports whether the box exists.
func (s *Server) UpdateBox(id string, fn func(*Box)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.boxes[id]
	if !ok {
		return false
	}
	oldCoords := append([]float64(nil), b.Coords...)
	fn(b)
	if len(b.Coords) >= 2 && (len(oldCoords) < 2 || b.Coords[0] != oldCoords[0] || b.Coords[1] != oldCoords[1]) {
		b.Lng, b.Lat = b.Coords[0], b.Coords[1] // the caller changed coords
	} else {
		b.Coords = []float64{b.Lng, b.Lat}
	}
	b.ID = id
	b.UpdatedAt = s.now()
	s.version++
	return true
}

// DeleteBox removes a box; it reports whether it existed.
func (s *Server) DeleteBox(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.boxes[id]; !ok {
		return false
	}
	delete(s.boxes, id)
	for i, x := range s.boxOrder {
		if x == id {
			s.boxOrder = append(s.boxOrder[:i], s.boxOrder[i+1:]...)
			break
		}
	}
	s.version++
	return true
}

// Box returns a stored box.
func (s *Server) Box(id string) (Box, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.boxes[id]
	if !ok {
		return Box{}, false
	}
	return *b, true
}

// Boxes returns every stored box in insertion order.
func (s *Server) Boxes() []Box {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Box, 0, len(s.boxOrder))
	for _, id := range s.boxOrder {
		out = append(out, *s.boxes[id])
	}
	return out
}

// AddPole stores a pole (an empty ID gets a new one) and returns it.
func (s *Server) AddPole(p ozmap.Pole) ozmap.Pole {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ID == "" {
		p.ID = s.newID()
	}
	s.poles = append(s.poles, p)
	s.version++
	return p
}

// AddProject stores a project (an empty ID gets a new one) and returns it.
func (s *Server) AddProject(p ozmap.Project) ozmap.Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ID == "" {
		p.ID = s.newID()
	}
	s.projects = append(s.projects, p)
	s.version++
	return p
}

// LastQuery returns the raw query string of the last request to path.
func (s *Server) LastQuery(path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastQuery[path]
}

// ---- HTTP ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "status": status})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, "/api/v2")
	if !ok {
		writeErr(w, http.StatusNotFound, "not found: "+r.URL.Path)
		return
	}
	counted := path
	if strings.HasPrefix(path, "/boxes/") {
		counted = "/boxes/{id}"
	}
	s.mu.Lock()
	s.lastQuery[counted] = r.URL.RawQuery
	s.mu.Unlock()
	faketest.Serve(&s.Faults, w, r, counted, func(w http.ResponseWriter, status int) { writeErr(w, status, "injected failure") },
		func(w http.ResponseWriter) { s.route(w, r, path) })
}

// route answers r (its path without /api/v2) once no fault was injected.
func (s *Server) route(w http.ResponseWriter, r *http.Request, path string) {
	if path == "/users/login" {
		s.serveLogin(w, r)
		return
	}
	if !s.authorized(r.Header.Get("Authorization")) {
		writeErr(w, http.StatusUnauthorized, "Invalid token")
		return
	}
	if r.Method != http.MethodGet {
		writeErr(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	switch {
	case path == "/boxes":
		s.serveList(w, r, "boxes")
	case strings.HasPrefix(path, "/boxes/"):
		s.serveBox(w, strings.TrimPrefix(path, "/boxes/"))
	case path == "/poles":
		s.serveList(w, r, "poles")
	case path == "/projects":
		s.serveList(w, r, "projects")
	case path == "/ftth-viability/radius":
		s.serveViability(w, r)
	default:
		writeErr(w, http.StatusNotFound, "not found: "+path)
	}
}

func (s *Server) authorized(h string) bool {
	if h == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return h == s.key || s.tokens[h]
}

func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Query().Get("type") != "API" {
		writeErr(w, http.StatusBadRequest, "use POST /users/login?type=API")
		return
	}
	var body struct{ Login, Password string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid JSON body")
		return
	}
	if s.o.Login == "" || body.Login != s.o.Login || body.Password != s.o.Password {
		writeErr(w, http.StatusUnauthorized, "Invalid login or password")
		return
	}
	tok := "tok-" + randHex(16)
	s.mu.Lock()
	s.tokens[tok] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"authorization": tok})
}

func (s *Server) serveBox(w http.ResponseWriter, id string) {
	s.mu.Lock()
	b, ok := s.boxes[id]
	var out any
	if ok {
		out = wireBox(b)
	}
	s.mu.Unlock()
	if !ok {
		writeErr(w, http.StatusNotFound, "Box not found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// record is one listed entity seen through its fields.
type record interface {
	field(prop string) (any, bool)
	point() (lat, lng float64, ok bool)
	id() string
}

type boxRec struct{ b *Box }

func (r boxRec) id() string { return r.b.ID }
func (r boxRec) point() (float64, float64, bool) {
	return r.b.Lat, r.b.Lng, true
}
func (r boxRec) field(p string) (any, bool) {
	b := r.b
	switch p {
	case "id", "_id":
		return b.ID, true
	case "kind":
		return b.Kind, true
	case "name":
		return b.Name, true
	case "project":
		return b.Project, true
	case "pole":
		return b.Pole, true
	case "boxType":
		return b.BoxType, true
	case "hierarchyLevel":
		return float64(b.HierarchyLevel), true
	case "implanted":
		return b.Implanted, true
	case "draft":
		return b.Draft, true
	case "address":
		return b.Address, true
	case "observation":
		return b.Observation, true
	case "external_id":
		return b.ExternalID, b.ExternalID != ""
	case "createdAt":
		return b.CreatedAt, true
	case "updatedAt":
		return b.UpdatedAt, true
	case "lat":
		return b.Lat, true
	case "lng":
		return b.Lng, true
	}
	return nil, false
}

type poleRec struct{ p *ozmap.Pole }

func (r poleRec) id() string                      { return r.p.ID }
func (r poleRec) point() (float64, float64, bool) { return r.p.Lat, r.p.Lng, true }
func (r poleRec) field(p string) (any, bool) {
	switch p {
	case "id", "_id":
		return r.p.ID, true
	case "name":
		return r.p.Name, true
	case "poleType":
		return r.p.PoleType, true
	case "usable":
		return r.p.Usable, true
	case "kind":
		return "Pole", true
	}
	return nil, false
}

type projRec struct{ p *ozmap.Project }

func (r projRec) id() string                      { return r.p.ID }
func (r projRec) point() (float64, float64, bool) { return 0, 0, false }
func (r projRec) field(p string) (any, bool) {
	switch p {
	case "id", "_id":
		return r.p.ID, true
	case "name":
		return r.p.Name, true
	case "identifier":
		return r.p.Identifier, true
	}
	return nil, false
}

type nearValue struct {
	Lat    float64  `json:"lat"`
	Lng    float64  `json:"lng"`
	Radius *float64 `json:"radius"`
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, coll string) {
	q := r.URL.Query()
	page, limit := 1, 100
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeErr(w, http.StatusBadRequest, "page must be a positive integer")
			return
		}
		page = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeErr(w, http.StatusBadRequest, "limit must be a positive integer")
			return
		}
		limit = min(n, s.o.MaxPageSize)
	}
	var filters []ozmap.Filter
	if v := q.Get("filter"); v != "" {
		if err := json.Unmarshal([]byte(v), &filters); err != nil {
			writeErr(w, http.StatusBadRequest, "filter is not a JSON array of {property, operator, value}: "+err.Error())
			return
		}
	}
	var sorts []ozmap.Sort
	if v := q.Get("sort"); v != "" {
		if err := json.Unmarshal([]byte(v), &sorts); err != nil {
			writeErr(w, http.StatusBadRequest, "sort is not a JSON array of {property, direction}: "+err.Error())
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	byID := func(id string) record { return nil }
	collect := func() []record { return nil }
	switch coll {
	case "boxes":
		byID = func(id string) record { return boxRec{s.boxes[id]} }
		collect = func() []record {
			recs := make([]record, 0, len(s.boxOrder))
			for _, id := range s.boxOrder {
				recs = append(recs, boxRec{s.boxes[id]})
			}
			return recs
		}
	case "poles":
		idx := map[string]int{}
		for i := range s.poles {
			idx[s.poles[i].ID] = i
		}
		byID = func(id string) record { return poleRec{&s.poles[idx[id]]} }
		collect = func() []record {
			recs := make([]record, 0, len(s.poles))
			for i := range s.poles {
				recs = append(recs, poleRec{&s.poles[i]})
			}
			return recs
		}
	case "projects":
		idx := map[string]int{}
		for i := range s.projects {
			idx[s.projects[i].ID] = i
		}
		byID = func(id string) record { return projRec{&s.projects[idx[id]]} }
		collect = func() []record {
			recs := make([]record, 0, len(s.projects))
			for i := range s.projects {
				recs = append(recs, projRec{&s.projects[i]})
			}
			return recs
		}
	}
	ckey := fmt.Sprintf("%s|%d|%s|%s", coll, s.version, q.Get("filter"), q.Get("sort"))
	ids, cached := s.cache[ckey]
	var dist map[string]float64
	if !cached {
		var err error
		ids, dist, err = selectRecords(collect(), filters, sorts)
		if err != nil {
			writeErr(w, http.StatusBadRequest, err.Error())
			return
		}
		if dist == nil {
			if len(s.cache) > 16 {
				s.cache = map[string][]string{}
			}
			s.cache[ckey] = ids
		}
	}
	start := (page - 1) * limit
	rows := []any{}
	for i := start; i < len(ids) && i < start+limit; i++ {
		switch rec := byID(ids[i]).(type) {
		case boxRec:
			rows = append(rows, wireBox(rec.b))
		case poleRec:
			m := wirePole(rec.p)
			if d, ok := dist[rec.p.ID]; ok {
				m["distance"] = math.Round(d*100) / 100
			}
			rows = append(rows, m)
		case projRec:
			rows = append(rows, map[string]any{"id": rec.p.ID, "name": rec.p.Name, "identifier": rec.p.Identifier, "kind": "Project"})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(ids), "count": len(rows), "start": start, "limit": limit, "rows": rows})
}

// selectRecords filters and orders recs; with a near filter it returns the
// distances too.
func selectRecords(recs []record, filters []ozmap.Filter, sorts []ozmap.Sort) ([]string, map[string]float64, error) {
	type hit struct {
		r record
		d float64
	}
	var near *nearValue
	for _, f := range filters {
		if f.Operator == "near" {
			b, _ := json.Marshal(f.Value)
			var nv nearValue
			if err := json.Unmarshal(b, &nv); err != nil {
				return nil, nil, fmt.Errorf("near: value must be {lat, lng, radius}: %v", err)
			}
			near = &nv
		} else if err := checkOperator(f); err != nil {
			return nil, nil, err
		}
	}
	var hits []hit
	for _, r := range recs {
		ok := true
		d := 0.0
		for _, f := range filters {
			if f.Operator == "near" {
				lat, lng, has := r.point()
				if !has {
					ok = false
					break
				}
				d = Haversine(near.Lat, near.Lng, lat, lng)
				if near.Radius != nil && d > *near.Radius {
					ok = false
					break
				}
				continue
			}
			if !match(r, f) {
				ok = false
				break
			}
		}
		if ok {
			hits = append(hits, hit{r, d})
		}
	}
	if len(sorts) > 0 {
		sort.SliceStable(hits, func(i, j int) bool {
			for _, s := range sorts {
				a, _ := hits[i].r.field(s.Property)
				b, _ := hits[j].r.field(s.Property)
				c := compare(a, b)
				if c != 0 {
					if s.Direction < 0 {
						return c > 0
					}
					return c < 0
				}
			}
			return false
		})
	} else if near != nil {
		sort.SliceStable(hits, func(i, j int) bool { return hits[i].d < hits[j].d })
	}
	ids := make([]string, len(hits))
	var dist map[string]float64
	if near != nil {
		dist = make(map[string]float64, len(hits))
	}
	for i, h := range hits {
		ids[i] = h.r.id()
		if dist != nil {
			dist[ids[i]] = h.d
		}
	}
	return ids, dist, nil
}

func checkOperator(f ozmap.Filter) error {
	switch f.Operator {
	case "=", "!=", "<", "<=", ">", ">=", "in", "notin", "like", "exists":
		if f.Property == "" {
			return fmt.Errorf("filter: property missing")
		}
		return nil
	}
	return fmt.Errorf("filter: operator %q not supported", f.Operator)
}

// match evaluates one (non-near) filter on r.
func match(r record, f ozmap.Filter) bool {
	v, has := r.field(f.Property)
	switch f.Operator {
	case "exists":
		want, _ := f.Value.(bool)
		return has == want
	case "=":
		return has && compare(v, f.Value) == 0
	case "!=":
		return !has || compare(v, f.Value) != 0
	case "<":
		return has && compare(v, f.Value) < 0
	case "<=":
		return has && compare(v, f.Value) <= 0
	case ">":
		return has && compare(v, f.Value) > 0
	case ">=":
		return has && compare(v, f.Value) >= 0
	case "in", "notin":
		arr, _ := f.Value.([]any)
		found := false
		for _, x := range arr {
			if has && compare(v, x) == 0 {
				found = true
				break
			}
		}
		return found == (f.Operator == "in")
	case "like":
		s, _ := v.(string)
		p, _ := f.Value.(string)
		return has && strings.Contains(strings.ToLower(s), strings.ToLower(strings.Trim(p, "%")))
	}
	return false
}

// compare orders a field value against a filter value: times against
// timestamps, numbers, bools, strings. Mismatched kinds compare unequal (1).
func compare(a, b any) int {
	switch x := a.(type) {
	case time.Time:
		var y time.Time
		switch bv := b.(type) {
		case time.Time:
			y = bv
		case string:
			t, err := time.Parse(time.RFC3339Nano, bv)
			if err != nil {
				return 1
			}
			y = t
		default:
			return 1
		}
		return x.Compare(y)
	case float64:
		y, ok := b.(float64)
		if !ok {
			return 1
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case bool:
		y, ok := b.(bool)
		if !ok || x != y {
			if !x && ok {
				return -1
			}
			return 1
		}
		return 0
	case string:
		y, ok := b.(string)
		if !ok {
			return 1
		}
		return strings.Compare(x, y)
	}
	return 1
}

func wireBox(b *Box) map[string]any {
	m := map[string]any{
		"id": b.ID, "kind": b.Kind, "name": b.Name, "project": b.Project, "pole": nullable(b.Pole),
		"boxType": b.BoxType, "hierarchyLevel": b.HierarchyLevel, "implanted": b.Implanted, "draft": b.Draft,
		"coords": []float64{b.Lng, b.Lat}, "address": b.Address, "observation": b.Observation,
		"external_id": nullable(b.ExternalID), "tags": []any{},
		"createdAt": b.CreatedAt.UTC().Format(ozmap.TimeFormat), "updatedAt": b.UpdatedAt.UTC().Format(ozmap.TimeFormat),
	}
	if !b.OmitLatLng {
		m["lat"], m["lng"] = b.Lat, b.Lng
	}
	return m
}

func wirePole(p *ozmap.Pole) map[string]any {
	adj := p.Adjacents
	if adj == nil {
		adj = []string{}
	}
	return map[string]any{"id": p.ID, "kind": "Pole", "name": p.Name, "coords": []float64{p.Lng, p.Lat},
		"poleType": p.PoleType, "usable": p.Usable, "adjacents": adj}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) serveViability(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lat, err1 := strconv.ParseFloat(q.Get("lat"), 64)
	lng, err2 := strconv.ParseFloat(q.Get("lng"), 64)
	if err1 != nil || err2 != nil {
		writeErr(w, http.StatusBadRequest, "lat and lng are required numbers")
		return
	}
	radius := s.o.DefaultRadius
	if v := q.Get("radius"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			writeErr(w, http.StatusBadRequest, "radius must be a positive number")
			return
		}
		radius = f
	}
	type hit struct {
		b *Box
		d float64
	}
	var ok, refused []hit
	s.mu.Lock()
	for _, id := range s.boxOrder {
		b := s.boxes[id]
		d := Haversine(lat, lng, b.Lat, b.Lng)
		if d > radius {
			continue
		}
		if b.Implanted && b.FreePorts > 0 {
			ok = append(ok, hit{b, d})
		} else {
			refused = append(refused, hit{b, d})
		}
	}
	byDist := func(h []hit) {
		sort.SliceStable(h, func(i, j int) bool { return h[i].d < h[j].d })
	}
	byDist(ok)
	byDist(refused)
	boxes := make([]map[string]any, 0, len(ok))
	for _, h := range ok {
		boxes = append(boxes, map[string]any{"id": h.b.ID, "name": h.b.Name, "project": h.b.Project,
			"distance": math.Round(h.d*100) / 100, "lat": h.b.Lat, "lng": h.b.Lng, "implanted": true, "availability": h.b.FreePorts})
	}
	ref := make([]map[string]any, 0, len(refused))
	for _, h := range refused {
		reason := "no free ports"
		if !h.b.Implanted {
			reason = "box not implanted"
		}
		ref = append(ref, map[string]any{"id": h.b.ID, "name": h.b.Name, "project": h.b.Project,
			"distance": math.Round(h.d*100) / 100, "implanted": h.b.Implanted, "availability": h.b.FreePorts, "reason": reason})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"viable": len(boxes) > 0, "boxes": boxes, "refused_boxes": ref, "properties": []any{}})
}

// Haversine returns the great-circle distance in metres between two points.
func Haversine(lat1, lng1, lat2, lng2 float64) float64 {
	const r = 6371008.8
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLng := (lng2 - lng1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
