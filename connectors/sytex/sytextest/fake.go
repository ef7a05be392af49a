// Package sytextest is an in-memory fake of Sytex's network-element API for
// tests and `fieldbridge demo`, following ../shared/contracts/sytex.md:
// Token + Organization authentication, DRF limit/offset paging with `next`
// links, `q` / `code__icontains` / `code__istartswith` / `ne_type`
// searches (substring, case-insensitive), DRF-style 400 validation, call
// counters per method, and fault injection (latency, 429/5xx answers,
// dropped connections, a 400 for one code, duplicate codes).
package sytextest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/fieldbridge/fieldbridge/connectors/internal/faketest"

	"github.com/fieldbridge/fieldbridge/connectors/sytex"
)

// Options configure a fake.
type Options struct {
	// Token is the accepted API token (default: random; see Server.Token).
	Token string
	// Organization is the accepted organization id (default "1").
	Organization string
	// NETypes, when not empty, are the only ne_type ids that exist; others
	// get DRF's "Invalid pk" 400.
	NETypes []int64
	// MaxLimit caps a page (default 1000, like a DRF max_limit).
	MaxLimit int
	// CodeMaxLength bounds codes (default 100).
	CodeMaxLength int
}

// Server is a running fake. Safe for concurrent use.
//
// Fault injection and call counters come from the embedded Faults:
// SetLatency, FailNext, SetRetryAfter, DropNext, DropAfterNext, and Calls
// by method ("GET", "POST", "PATCH"), TotalCalls, ResetCalls, CallSpan.
type Server struct {
	faketest.Faults

	o  Options
	ts *httptest.Server

	mu     sync.Mutex
	token  string
	els    map[int64]*sytex.NetworkElement
	nextID int64
	tri    map[string]map[int64]struct{} // trigram index over lowered code and name
	reject map[string]rejection          // code → forced 400
}

type rejection struct{ field, msg string }

// New starts a fake on 127.0.0.1. Close it when done.
func New(o Options) *Server {
	if o.Token == "" {
		o.Token = "sytex-fake-" + randHex(12)
	}
	if o.Organization == "" {
		o.Organization = "1"
	}
	if o.MaxLimit <= 0 {
		o.MaxLimit = 1000
	}
	if o.CodeMaxLength <= 0 {
		o.CodeMaxLength = 100
	}
	s := &Server{o: o, token: o.Token, els: map[int64]*sytex.NetworkElement{}, nextID: 1000,
		tri: map[string]map[int64]struct{}{}, reject: map[string]rejection{}}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// URL is the instance's base URL (paths start with /api/).
func (s *Server) URL() string { return s.ts.URL }

// Token is the accepted token.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// Organization is the accepted organization id.
func (s *Server) Organization() string { return s.o.Organization }

// SetToken changes the accepted token (the old one then gets 401).
func (s *Server) SetToken(t string) {
	s.mu.Lock()
	s.token = t
	s.mu.Unlock()
}

// Add stores ne as is, without validation (to seed elements or make
// duplicate codes). An ID of 0 gets a new one. It returns the stored element.
func (s *Server) Add(ne sytex.NetworkElement) sytex.NetworkElement {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store(ne)
}

func (s *Server) store(ne sytex.NetworkElement) sytex.NetworkElement {
	if ne.ID == 0 {
		s.nextID++
		ne.ID = s.nextID
	} else if ne.ID > s.nextID {
		s.nextID = ne.ID
	}
	for i := range ne.Coordinates {
		if ne.Coordinates[i].ID == 0 {
			ne.Coordinates[i].ID = ne.ID*10 + int64(i)
		}
	}
	if old, ok := s.els[ne.ID]; ok {
		s.unindex(old)
	}
	c := ne
	c.Coordinates = append([]sytex.Coordinate(nil), ne.Coordinates...)
	s.els[ne.ID] = &c
	s.index(&c)
	return c
}

// Delete removes an element (as a person could in Sytex's UI); it
// reports whether it existed.
func (s *Server) Delete(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.els[id]
	if ok {
		s.unindex(e)
		delete(s.els, id)
	}
	return ok
}

// Elements returns every element, by id.
func (s *Server) Elements() []sytex.NetworkElement {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]sytex.NetworkElement, 0, len(s.els))
	for _, e := range s.els {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ByCode returns the elements whose code is exactly code.
func (s *Server) ByCode(code string) []sytex.NetworkElement {
	var out []sytex.NetworkElement
	for _, e := range s.Elements() {
		if e.Code == code {
			out = append(out, e)
		}
	}
	return out
}

// Duplicates returns the codes held by more than one element.
func (s *Server) Duplicates() map[string]int {
	n := map[string]int{}
	for _, e := range s.Elements() {
		n[e.Code]++
	}
	for k, v := range n {
		if v < 2 {
			delete(n, k)
		}
	}
	return n
}

// Len returns the number of elements.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.els)
}

// RejectCode makes every create or patch of the element with this code
// answer a DRF 400 with msg on field (e.g. "name", "Ensure this field has
// no more than 50 characters."). An empty msg removes the rule.
func (s *Server) RejectCode(code, field, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg == "" {
		delete(s.reject, code)
		return
	}
	s.reject[code] = rejection{field, msg}
}

// ---- index ----

func trigrams(s string) []string {
	r := []rune(strings.ToLower(s))
	if len(r) < 3 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for i := 0; i+3 <= len(r); i++ {
		t := string(r[i : i+3])
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) index(e *sytex.NetworkElement) {
	for _, t := range append(trigrams(e.Code), trigrams(e.Name)...) {
		m := s.tri[t]
		if m == nil {
			m = map[int64]struct{}{}
			s.tri[t] = m
		}
		m[e.ID] = struct{}{}
	}
}

func (s *Server) unindex(e *sytex.NetworkElement) {
	for _, t := range append(trigrams(e.Code), trigrams(e.Name)...) {
		delete(s.tri[t], e.ID)
	}
}

// candidates returns ids that may contain sub (case-insensitive) in code
// or name; all ids when the index cannot help.
func (s *Server) candidates(sub string) []int64 {
	ts := trigrams(sub)
	var best map[int64]struct{}
	if len(ts) > 0 {
		for _, t := range ts {
			m := s.tri[t]
			if best == nil || len(m) < len(best) {
				best = m
			}
		}
		out := make([]int64, 0, len(best))
		for id := range best {
			out = append(out, id)
		}
		return out
	}
	out := make([]int64, 0, len(s.els))
	for id := range s.els {
		out = append(out, id)
	}
	return out
}

// ---- HTTP ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	faketest.Serve(&s.Faults, w, r, r.Method, func(w http.ResponseWriter, status int) {
		writeJSON(w, status, map[string]string{"detail": "Injected failure."})
	}, func(w http.ResponseWriter) { s.route(w, r) })
}

// route answers r once no fault was injected.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	tok := s.token
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Token "+tok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Invalid token."})
		return
	}
	if r.Header.Get("Organization") != s.o.Organization {
		writeJSON(w, http.StatusForbidden, map[string]string{"detail": "You do not have permission to perform this action."})
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/networkelement/")
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not found."})
		return
	}
	switch {
	case rest == "" && r.Method == http.MethodGet:
		s.list(w, r)
	case rest == "" && r.Method == http.MethodPost:
		s.create(w, r)
	case rest != "":
		id, err := strconv.ParseInt(strings.TrimSuffix(rest, "/"), 10, 64)
		if err != nil || !strings.HasSuffix(rest, "/") {
			writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not found."})
			break
		}
		switch r.Method {
		case http.MethodGet:
			s.get(w, id)
		case http.MethodPatch:
			s.patch(w, r, id)
		default:
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": fmt.Sprintf("Method \"%s\" not allowed.", r.Method)})
		}
	default:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": fmt.Sprintf("Method \"%s\" not allowed.", r.Method)})
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset := 100, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusBadRequest, map[string][]string{"limit": {"A valid integer is required."}})
			return
		}
		limit = min(n, s.o.MaxLimit)
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, map[string][]string{"offset": {"A valid integer is required."}})
			return
		}
		offset = n
	}
	text := q.Get("q")
	contains := strings.ToLower(q.Get("code__icontains"))
	starts := strings.ToLower(q.Get("code__istartswith"))
	var neType int64
	if v := q.Get("ne_type"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string][]string{"ne_type": {"Select a valid choice. That choice is not one of the available choices."}})
			return
		}
		neType = n
	}

	s.mu.Lock()
	var ids []int64
	switch {
	case contains != "":
		ids = s.candidates(contains)
	case text != "":
		ids = s.candidates(text)
	case starts != "":
		ids = s.candidates(starts)
	default:
		ids = s.candidates("")
	}
	var hits []sytex.NetworkElement
	lt := strings.ToLower(text)
	for _, id := range ids {
		e := s.els[id]
		lc := strings.ToLower(e.Code)
		if contains != "" && !strings.Contains(lc, contains) {
			continue
		}
		if starts != "" && !strings.HasPrefix(lc, starts) {
			continue
		}
		if text != "" && !strings.Contains(lc, lt) && !strings.Contains(strings.ToLower(e.Name), lt) {
			continue
		}
		if neType != 0 && e.NEType != neType {
			continue
		}
		hits = append(hits, *e)
	}
	s.mu.Unlock()
	sort.Slice(hits, func(i, j int) bool { return hits[i].ID < hits[j].ID })

	results := []any{}
	for i := offset; i < len(hits) && i < offset+limit; i++ {
		results = append(results, wire(hits[i]))
	}
	link := func(off int) any {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		v := r.URL.Query()
		v.Set("limit", strconv.Itoa(limit))
		v.Set("offset", strconv.Itoa(off))
		if off == 0 {
			v.Del("offset")
		}
		u.RawQuery = v.Encode()
		return u.String()
	}
	var next, prev any
	if offset+limit < len(hits) {
		next = link(offset + limit)
	}
	if offset > 0 {
		prev = link(max(0, offset-limit))
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(hits), "next": next, "previous": prev, "results": results})
}

// wire renders an element as Sytex does (decimals as strings, ne_type id).
func wire(e sytex.NetworkElement) map[string]any {
	coords := []any{}
	for _, c := range e.Coordinates {
		coords = append(coords, map[string]any{"id": c.ID, "name": c.Name,
			"latitude": strconv.FormatFloat(c.Latitude, 'f', 8, 64), "longitude": strconv.FormatFloat(c.Longitude, 'f', 8, 64)})
	}
	return map[string]any{"id": e.ID, "code": e.Code, "name": e.Name, "description": e.Description,
		"ne_type": e.NEType, "networkelementcoordinates_set": coords}
}

func (s *Server) get(w http.ResponseWriter, id int64) {
	s.mu.Lock()
	e, ok := s.els[id]
	var out map[string]any
	if ok {
		out = wire(*e)
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not found."})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// decodeBody reads a JSON object; on failure it answers DRF's parse error.
func decodeBody(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "Request body too large."})
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "JSON parse error - " + err.Error()})
		return nil, false
	}
	return m, true
}

// apply validates fields of m onto e; partial skips required checks.
func (s *Server) apply(e *sytex.NetworkElement, m map[string]json.RawMessage, partial bool) map[string]any {
	errs := map[string]any{}
	str := func(k string, dst *string, required bool, maxLen int) {
		raw, ok := m[k]
		if !ok {
			if required && !partial {
				errs[k] = []string{"This field is required."}
			}
			return
		}
		var v *string
		if json.Unmarshal(raw, &v) != nil {
			errs[k] = []string{"Not a valid string."}
			return
		}
		if v == nil {
			errs[k] = []string{"This field may not be null."}
			return
		}
		if required && strings.TrimSpace(*v) == "" {
			errs[k] = []string{"This field may not be blank."}
			return
		}
		if maxLen > 0 && len([]rune(*v)) > maxLen {
			errs[k] = []string{fmt.Sprintf("Ensure this field has no more than %d characters.", maxLen)}
			return
		}
		*dst = *v
	}
	str("code", &e.Code, true, s.o.CodeMaxLength)
	str("name", &e.Name, false, 255)
	str("description", &e.Description, false, 0)
	if raw, ok := m["ne_type"]; ok {
		var v *int64
		if json.Unmarshal(raw, &v) != nil {
			errs["ne_type"] = []string{fmt.Sprintf("Incorrect type. Expected pk value, received %s.", jsonKind(raw))}
		} else if v == nil {
			errs["ne_type"] = []string{"This field may not be null."}
		} else if !s.validType(*v) {
			errs["ne_type"] = []string{fmt.Sprintf("Invalid pk \"%d\" - object does not exist.", *v)}
		} else {
			e.NEType = *v
		}
	} else if !partial {
		errs["ne_type"] = []string{"This field is required."}
	}
	if raw, ok := m["networkelementcoordinates_set"]; ok {
		var cs []map[string]json.RawMessage
		if json.Unmarshal(raw, &cs) != nil {
			errs["networkelementcoordinates_set"] = map[string][]string{"non_field_errors": {"Expected a list of items but got type \"" + jsonKind(raw) + "\"."}}
		} else {
			var list []any
			bad := false
			var coords []sytex.Coordinate
			for _, c := range cs {
				ce := map[string][]string{}
				var co sytex.Coordinate
				if n, ok := c["name"]; ok {
					_ = json.Unmarshal(n, &co.Name)
				}
				num := func(k string, dst *float64, lim float64) {
					raw, ok := c[k]
					if !ok {
						ce[k] = []string{"This field is required."}
						return
					}
					f, ok := parseNum(raw)
					if !ok {
						ce[k] = []string{"A valid number is required."}
						return
					}
					if f < -lim || f > lim {
						ce[k] = []string{fmt.Sprintf("Ensure this value is less than or equal to %g.", lim)}
						return
					}
					*dst = f
				}
				num("latitude", &co.Latitude, 90)
				num("longitude", &co.Longitude, 180)
				if len(ce) > 0 {
					bad = true
					list = append(list, ce)
				} else {
					list = append(list, map[string]any{})
				}
				coords = append(coords, co)
			}
			if bad {
				errs["networkelementcoordinates_set"] = list
			} else {
				e.Coordinates = coords
			}
		}
	}
	if rj, ok := s.reject[e.Code]; ok {
		errs[rj.field] = []string{rj.msg}
	}
	return errs
}

func jsonKind(raw json.RawMessage) string {
	switch strings.TrimSpace(string(raw))[0] {
	case '"':
		return "str"
	case '{':
		return "dict"
	case '[':
		return "list"
	case 't', 'f':
		return "bool"
	case 'n':
		return "NoneType"
	}
	return "int"
}

func (s *Server) validType(t int64) bool {
	if t <= 0 {
		return false
	}
	if len(s.o.NETypes) == 0 {
		return true
	}
	for _, v := range s.o.NETypes {
		if v == t {
			return true
		}
	}
	return false
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	m, ok := decodeBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	var e sytex.NetworkElement
	errs := s.apply(&e, m, false)
	if len(errs) > 0 {
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, errs)
		return
	}
	stored := s.store(e)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, wire(stored))
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, id int64) {
	m, ok := decodeBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	old, found := s.els[id]
	if !found {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not found."})
		return
	}
	e := *old
	e.Coordinates = append([]sytex.Coordinate(nil), old.Coordinates...)
	errs := s.apply(&e, m, true)
	if len(errs) > 0 {
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, errs)
		return
	}
	stored := s.store(e)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, wire(stored))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// parseNum reads a JSON number or a numeric string.
func parseNum(raw json.RawMessage) (float64, bool) {
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return f, true
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		if v, err := strconv.ParseFloat(str, 64); err == nil {
			return v, true
		}
	}
	return 0, false
}
