package forticstest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Geocoder is a Nominatim-compatible fake: GET /search?format=json&q=..
// answers a JSON list with lat/lon as strings, from the places added. Like
// Nominatim it refuses requests without a User-Agent (403).
type Geocoder struct {
	srv   *httptest.Server
	calls atomic.Int64

	mu     sync.Mutex
	places map[string][2]float64 // normalized address → coordinates
	delay  time.Duration
	fail   int
}

// NewGeocoder starts the fake on 127.0.0.1. Close it when done.
func NewGeocoder() *Geocoder {
	g := &Geocoder{places: map[string][2]float64{}}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	return g
}

// URL is the base URL to configure as the geocoder.
func (g *Geocoder) URL() string { return g.srv.URL }

// Close stops the server.
func (g *Geocoder) Close() { g.srv.Close() }

// Add makes address answer (lat, lng). A query matches when it contains the
// address (case and spacing ignored).
func (g *Geocoder) Add(address string, lat, lng float64) {
	g.mu.Lock()
	g.places[norm(address)] = [2]float64{lat, lng}
	g.mu.Unlock()
}

// SetDelay makes every answer wait d (honouring the client's hang-up).
func (g *Geocoder) SetDelay(d time.Duration) { g.mu.Lock(); g.delay = d; g.mu.Unlock() }

// SetFail makes every answer the HTTP status code (0: answer normally).
func (g *Geocoder) SetFail(code int) { g.mu.Lock(); g.fail = code; g.mu.Unlock() }

// Calls counts the /search requests received.
func (g *Geocoder) Calls() int64 { return g.calls.Load() }

func norm(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

func (g *Geocoder) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/search" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	g.calls.Add(1)
	if r.Header.Get("User-Agent") == "" {
		http.Error(w, "a User-Agent is required by the usage policy", http.StatusForbidden)
		return
	}
	g.mu.Lock()
	delay, fail := g.delay, g.fail
	g.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if fail != 0 {
		http.Error(w, "injected failure", fail)
		return
	}
	q := r.URL.Query()
	if q.Get("format") != "json" || q.Get("q") == "" {
		http.Error(w, `{"error":"format=json and q are required"}`, http.StatusBadRequest)
		return
	}
	want := norm(q.Get("q"))
	type place struct {
		Lat         string  `json:"lat"`
		Lon         string  `json:"lon"`
		DisplayName string  `json:"display_name"`
		Class       string  `json:"class"`
		Type        string  `json:"type"`
		Importance  float64 `json:"importance"`
	}
	out := []place{}
	g.mu.Lock()
	for addr, p := range g.places {
		if strings.Contains(want, addr) {
			out = append(out, place{Lat: strconv.FormatFloat(p[0], 'f', 7, 64), Lon: strconv.FormatFloat(p[1], 'f', 7, 64),
				DisplayName: addr, Class: "place", Type: "house", Importance: 0.5})
			break
		}
	}
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(out)
}
