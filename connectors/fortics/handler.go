package fortics

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// Handler answers viability questions over HTTP. It is safe for concurrent
// use. Build it with New.
type Handler struct {
	o        Options
	tokenSum [32]byte
	msgs     messages
	limits   *limiters // nil: no rate limit
	answers  *ttlCache[result]
	places   *ttlCache[[2]float64] // geocoded addresses
	flights  singleflight.Group
	geoGroup singleflight.Group
}

// errPanic marks a panic caught in a network check.
var errPanic = errors.New("internal error")

// result is what the network said about one location.
type result struct {
	status  string
	box     Box
	pole    Pole
	checked time.Time
}

// New checks the options and builds a Handler. It does no I/O.
func New(o Options) (*Handler, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Handler{o: o, tokenSum: sha256.Sum256([]byte(o.Token)), msgs: newMessages(o.Language, o.Messages)}
	if o.RateLimit > 0 {
		h.limits = newLimiters(o.RateLimit, o.RateBurst, o.RateClients)
	}
	if !o.CacheDisabled {
		h.answers = newTTLCache[result](o.CacheTTL, o.CacheSize)
		h.places = newTTLCache[[2]float64](o.CacheTTL, o.CacheSize)
	}
	return h, nil
}

// Options returns the handler's options with defaults filled in.
func (h *Handler) Options() Options { return h.o }

// CacheLen returns the number of cached answers.
func (h *Handler) CacheLen() int {
	if h.answers == nil {
		return 0
	}
	return h.answers.len()
}

// reply is one answer in the making.
type reply struct {
	code   int
	ans    Answer
	reason string // reason key for refusals, or a short error text
	msgKey string // message key; default the status
	rec    Record
}

// ServeHTTP answers one question. Every answer, including a panic in this
// handler, is flat JSON.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.o.Now()
	rp := &reply{rec: Record{Time: start}}
	wrote := false
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.o.Log.Error("fortics: viability handler panicked", "panic", fmt.Sprint(p))
			if !wrote {
				rp.code, rp.ans, rp.msgKey, rp.reason = http.StatusInternalServerError, Answer{Status: StatusUnavailable}, "", "internal error"
				h.finish(w, rp, start)
			}
		}
	}()
	h.serve(w, r, rp)
	wrote = true
	h.finish(w, rp, start)
}

// complete fills the answer's message and time.
func (h *Handler) complete(rp *reply, start time.Time) {
	a := &rp.ans
	key := rp.msgKey
	if key == "" {
		key = a.Status
	}
	a.Message = h.msgs.text(key, a)
	if a.CheckedAt == "" {
		a.CheckedAt = start.UTC().Format(time.RFC3339)
	}
}

// record hands the answer's record to OnAnswer (the question log).
func (h *Handler) record(rp *reply, start time.Time) {
	if h.o.OnAnswer == nil {
		return
	}
	a := &rp.ans
	rc := rp.rec
	rc.Status, rc.HTTP = a.Status, rp.code
	rc.Lat, rc.Lng = a.Lat, a.Lng
	rc.Box, rc.FreePorts, rc.Pole = a.Box, a.FreePorts, a.Pole
	rc.Reason = rp.reason
	rc.Latency = h.o.Now().Sub(start)
	h.o.OnAnswer(rc)
}

// finish fills the answer's message and time, writes it and records it.
func (h *Handler) finish(w http.ResponseWriter, rp *reply, start time.Time) {
	h.complete(rp, start)
	a := &rp.ans
	body, err := json.Marshal(a)
	if err != nil { // cannot happen for this struct; answer something valid anyway
		body = []byte(`{"status":"unavailable"}`)
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(rp.code)
	body = append(body, '\n')
	_, _ = w.Write(body)
	h.record(rp, start)
}

func (rp *reply) refuse(code int, status, reason string) {
	rp.code, rp.ans.Status, rp.reason, rp.msgKey = code, status, reason, reason
}

// serve works out the reply.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rp *reply) {
	client := h.clientAddr(r)
	rp.rec.Client = client.String()
	if h.o.Path != "" && r.URL.Path != h.o.Path {
		rp.refuse(http.StatusNotFound, StatusInvalidRequest, ReasonPath)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		rp.refuse(http.StatusMethodNotAllowed, StatusInvalidRequest, ReasonMethod)
		return
	}
	if h.limits != nil && !h.limits.allow(client, h.o.Now()) {
		w.Header().Set("Retry-After", "1")
		rp.refuse(http.StatusTooManyRequests, StatusRateLimited, StatusRateLimited)
		return
	}
	var f fields
	query := r.URL.Query()
	for k, vs := range query {
		if len(vs) > 0 {
			f.set(k, vs[0])
		}
	}
	if r.Method == http.MethodPost {
		if err := h.readBody(w, r, &f); err != nil {
			if !h.tokenOK(r, query, f.token) { // say nothing about the body to a stranger
				rp.refuse(http.StatusUnauthorized, StatusUnauthorized, StatusUnauthorized)
				return
			}
			code := http.StatusBadRequest
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				code = http.StatusRequestEntityTooLarge
			}
			rp.refuse(code, StatusInvalidRequest, ReasonBadBody)
			rp.rec.Reason = err.Error()
			return
		}
	}
	if !h.tokenOK(r, query, f.token) {
		rp.refuse(http.StatusUnauthorized, StatusUnauthorized, StatusUnauthorized)
		return
	}

	loc, err := f.locate()
	rp.rec.Input = loc.Input
	if loc.Input != InputLatLng {
		rp.rec.Query = truncate(loc.Text, 200)
	}
	if err != nil {
		rp.rec.Query = truncate(f.given(), 200) // what could not be read
		var le *locError
		errors.As(err, &le)
		rp.refuse(http.StatusBadRequest, StatusInvalidRequest, le.reason)
		return
	}

	h.resolve(r.Context(), rp, loc)
}

// resolve answers for a location that was read: from the cache, or by
// geocoding (an address) and asking the network.
func (h *Handler) resolve(ctx context.Context, rp *reply, loc Location) {
	if loc.Input != InputAddress && h.answers != nil { // the hot path: no timers
		if res, ok := h.answers.get(coordKey(loc.Lat, loc.Lng, h.o.CachePrecision), h.o.Now()); ok {
			rp.ans.Lat, rp.ans.Lng = round(loc.Lat, 6), round(loc.Lng, 6)
			rp.rec.Cached = true
			h.answer(rp, loc, res)
			return
		}
	}
	ctx, cancel := context.WithTimeout(ctx, h.o.Deadline)
	defer cancel()
	if loc.Input == InputAddress {
		if h.o.Geocoder == nil {
			rp.refuse(http.StatusBadRequest, StatusInvalidRequest, ReasonNeedCoordinates)
			return
		}
		lat, lng, err := h.geocode(ctx, loc.Text)
		if errors.Is(err, ErrAddressNotFound) {
			rp.refuse(http.StatusBadRequest, StatusInvalidRequest, ReasonAddressNotFound)
			return
		}
		if err != nil {
			h.unavailable(rp, "geocoder", err)
			return
		}
		if loc, err = checked(Location{Input: InputAddress, Lat: lat, Lng: lng, Text: loc.Text}); err != nil {
			h.unavailable(rp, "geocoder", err) // the geocoder answered nonsense
			return
		}
	}
	rp.ans.Lat, rp.ans.Lng = round(loc.Lat, 6), round(loc.Lng, 6)

	res, shared, err := h.lookup(ctx, loc.Lat, loc.Lng)
	if err != nil {
		h.unavailable(rp, "network", err)
		if errors.Is(err, errPanic) {
			rp.code = http.StatusInternalServerError
		}
		return
	}
	rp.rec.Cached = shared
	h.answer(rp, loc, res)
}

// Ask answers the viability question for a location chosen elsewhere than
// in a request to the viability route — on a FindME page — through the
// same cache, shared flights, deadline and question log. input is the
// question log's input kind (InputFindMe); client the asking party's
// address. With address set (and lat, lng zero) the address is geocoded.
// A location that cannot be used answers invalid_request with the
// sentence why.
func (h *Handler) Ask(ctx context.Context, input, client string, lat, lng float64, address string) Answer {
	start := h.o.Now()
	rp := &reply{rec: Record{Time: start, Client: client, Input: input}}
	var loc Location
	var err error
	if address != "" && lat == 0 && lng == 0 {
		rp.rec.Query = truncate(address, 200)
		loc, err = Location{Input: InputAddress, Text: address}, nil
		if strings.TrimSpace(address) == "" {
			err = &locError{reason: ReasonMissingLocation}
		}
	} else {
		loc, err = checked(Location{Input: InputLatLng, Lat: lat, Lng: lng})
	}
	if err != nil {
		var le *locError
		reason := ReasonBadCoordinates
		if errors.As(err, &le) {
			reason = le.reason
		}
		rp.refuse(http.StatusBadRequest, StatusInvalidRequest, reason)
	} else {
		h.resolve(ctx, rp, loc)
	}
	h.complete(rp, start)
	h.record(rp, start)
	return rp.ans
}

// answer fills a 200 answer from what the network said.
func (h *Handler) answer(rp *reply, loc Location, res result) {
	rp.code = http.StatusOK
	rp.ans.Status = res.status
	rp.ans.CheckedAt = res.checked.UTC().Format(time.RFC3339)
	if res.status == StatusNotFound {
		return
	}
	rp.ans.Pole = nameOr(res.pole.Name, res.pole.ID)
	if res.status == StatusFound {
		b := res.box
		rp.ans.Viable = true
		rp.ans.Box = nameOr(b.Name, b.ID)
		rp.ans.FreePorts = b.FreePorts
		d := b.DistanceM
		if b.Lat != 0 || b.Lng != 0 {
			d = haversine(loc.Lat, loc.Lng, b.Lat, b.Lng)
		}
		rp.ans.BoxDistanceM = round(d, 1)
	}
}

func (h *Handler) unavailable(rp *reply, what string, err error) {
	reason := what + ": " + err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		reason = what + ": no answer within the deadline"
	}
	h.o.Log.Warn("fortics: viability question failed", "step", what, "err", err)
	rp.code, rp.ans.Status, rp.reason, rp.msgKey = http.StatusServiceUnavailable, StatusUnavailable, truncate(reason, 300), ""
}

// lookup answers from the cache, or asks the network once for all
// concurrent identical questions. shared reports a cached or shared answer.
func (h *Handler) lookup(ctx context.Context, lat, lng float64) (result, bool, error) {
	key := coordKey(lat, lng, h.o.CachePrecision)
	if h.answers != nil {
		if res, ok := h.answers.get(key, h.o.Now()); ok {
			return res, true, nil
		}
	}
	// The first asker runs the flight on its own goroutine, whose stack has
	// already grown serving earlier questions: a fresh goroutine per
	// question (DoChan) cost a stack copy and two hand-offs each time.
	// Later askers wait for it; the flight's own deadline, which started
	// no later than theirs, bounds that wait.
	v, err, shared := h.flights.Do(key, func() (v any, err error) {
		// Turn a panic into an error: singleflight would re-panic it in
		// every waiting asker.
		defer func() {
			if p := recover(); p != nil {
				h.o.Log.Error("fortics: network check panicked", "panic", fmt.Sprint(p))
				v, err = nil, fmt.Errorf("%w: %v", errPanic, p)
			}
		}()
		// Detached from the first asker: its hang-up must not fail the
		// others waiting on the same flight. Its deadline stays: the whole
		// question (geocoding included) ends within Deadline.
		dl, ok := ctx.Deadline()
		if !ok {
			dl = time.Now().Add(h.o.Deadline)
		}
		res, err := h.check(context.WithoutCancel(ctx), dl, lat, lng)
		if err == nil && h.answers != nil {
			h.answers.put(key, res, h.o.Now())
		}
		return res, err
	})
	if err != nil {
		return result{}, false, err
	}
	return v.(result), shared, nil
}

// callContext bounds one call by CallTimeout and by the question's
// deadline dl, with one timer (ctx carries no deadline of its own).
func (h *Handler) callContext(ctx context.Context, dl time.Time) (context.Context, context.CancelFunc) {
	if c := time.Now().Add(h.o.CallTimeout); c.Before(dl) {
		dl = c
	}
	return context.WithDeadline(ctx, dl)
}

// check asks the network: nearest usable pole, then feasibility there,
// each call within CallTimeout and both within the deadline dl.
func (h *Handler) check(ctx context.Context, dl time.Time, lat, lng float64) (result, error) {
	cctx, cancel := h.callContext(ctx, dl)
	poles, err := h.o.Network.Poles(cctx, lat, lng, h.o.RadiusM, h.o.PoleLimit)
	cancel()
	if err != nil {
		return result{}, fmt.Errorf("poles: %w", err)
	}
	res := result{status: StatusNotFound, checked: h.o.Now()}
	var pole *Pole
	for i := range poles {
		if poles[i].Usable {
			pole = &poles[i]
			break
		}
	}
	if pole == nil {
		return res, nil
	}
	res.pole = *pole
	cctx, cancel = h.callContext(ctx, dl)
	feas, err := h.o.Network.Feasibility(cctx, pole.Lat, pole.Lng, h.o.FeasibilityRadiusM)
	cancel()
	if err != nil {
		return result{}, fmt.Errorf("feasibility: %w", err)
	}
	res.status = StatusNoViability
	if !feas.Viable {
		return res, nil
	}
	boxes := feas.Boxes
	if !sort.SliceIsSorted(boxes, func(i, j int) bool { return boxes[i].DistanceM < boxes[j].DistanceM }) {
		boxes = append([]Box(nil), boxes...)
		sort.SliceStable(boxes, func(i, j int) bool { return boxes[i].DistanceM < boxes[j].DistanceM })
	}
	for _, b := range boxes {
		if b.FreePorts > 0 && b.Implanted {
			res.status, res.box = StatusFound, b
			break
		}
	}
	return res, nil
}

// geocode turns an address into coordinates, through the cache and one
// flight per address.
func (h *Handler) geocode(ctx context.Context, address string) (float64, float64, error) {
	key := strings.Join(strings.Fields(strings.ToLower(address)), " ")
	if h.places != nil {
		if p, ok := h.places.get(key, h.o.Now()); ok {
			return p[0], p[1], nil
		}
	}
	ch := h.geoGroup.DoChan(key, func() (v any, err error) {
		defer func() {
			if p := recover(); p != nil {
				h.o.Log.Error("fortics: geocoder panicked", "panic", fmt.Sprint(p))
				v, err = nil, fmt.Errorf("%w: %v", errPanic, p)
			}
		}()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.o.CallTimeout)
		defer cancel()
		lat, lng, err := h.o.Geocoder.Geocode(cctx, address)
		if err != nil {
			return nil, err
		}
		p := [2]float64{lat, lng}
		if h.places != nil {
			h.places.put(key, p, h.o.Now())
		}
		return p, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return 0, 0, r.Err
		}
		p := r.Val.([2]float64)
		return p[0], p[1], nil
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
}

// readBody reads a POST body (JSON or form) into f.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, f *fields) error {
	r.Body = http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return err
		}
		for k, vs := range r.PostForm {
			if len(vs) > 0 {
				f.set(k, vs[0])
			}
		}
		return nil
	case ct == "multipart/form-data":
		if err := r.ParseMultipartForm(h.o.MaxBodyBytes); err != nil {
			return err
		}
		for k, vs := range r.MultipartForm.Value {
			if len(vs) > 0 {
				f.set(k, vs[0])
			}
		}
		return nil
	}
	// JSON, declared or not (some bots send text/plain); an empty body
	// leaves the query parameters alone.
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		// Not JSON: a form body with a wrong content type?
		if vals, ferr := parseQueryStrict(string(b)); ferr == nil {
			for k, vs := range vals {
				f.set(k, vs[0])
			}
			return nil
		}
		return fmt.Errorf("body is neither JSON nor a form: %w", err)
	}
	setJSON(f, m, 0)
	return nil
}

// setJSON stores a JSON object's location variables; nested objects
// ({"location": {"latitude": .., "longitude": ..}}) are read one level deep.
func setJSON(f *fields, m map[string]any, depth int) {
	for k, v := range m {
		switch v := v.(type) {
		case string:
			f.set(k, v)
		case json.Number:
			f.set(k, v.String())
		case map[string]any:
			if depth < 2 {
				setJSON(f, v, depth+1)
			}
		}
	}
}

// parseQueryStrict parses a=b&c=d, refusing texts without any '='.
func parseQueryStrict(s string) (map[string][]string, error) {
	if !strings.Contains(s, "=") {
		return nil, errors.New("no fields")
	}
	v, err := url.ParseQuery(strings.TrimSpace(s))
	if err != nil || len(v) == 0 {
		return nil, errors.New("no fields")
	}
	return v, nil
}

// tokenOK compares the token given (header, query or body) with ours in
// constant time.
func (h *Handler) tokenOK(r *http.Request, query url.Values, bodyToken string) bool {
	t := r.Header.Get("Authorization")
	if t != "" {
		if len(t) > 7 && strings.EqualFold(t[:7], "bearer ") {
			t = t[7:]
		}
	} else if t = r.Header.Get("X-Token"); t == "" {
		if t = r.Header.Get("X-Fieldbridge-Token"); t == "" {
			if t = query.Get("token"); t == "" {
				t = bodyToken
			}
		}
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(t)))
	return t != "" && subtle.ConstantTimeCompare(sum[:], h.tokenSum[:]) == 1
}

// clientAddr is the asking client's address: the connection's peer, or
// the last entry of the configured proxy header.
func (h *Handler) clientAddr(r *http.Request) netip.Addr {
	if h.o.ClientIPHeader != "" {
		if v := r.Header.Get(h.o.ClientIPHeader); v != "" {
			if i := strings.LastIndexByte(v, ','); i >= 0 {
				v = v[i+1:]
			}
			if a, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
				return a.Unmap()
			}
		}
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	a, _ := netip.ParseAddr(host)
	return a
}

func nameOr(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func round(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(v*p) / p
}

// haversine returns the distance in metres between two points.
func haversine(lat1, lng1, lat2, lng2 float64) float64 {
	const r = 6371000.0
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLng := (lng2 - lng1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}
